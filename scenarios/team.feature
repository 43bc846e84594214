Feature: A working group reports together
  Members report what happened, leads decide what the record says, reviewers read it.

  Background:
    Given the mini plan has a lead "lea", a co-lead "col", a member "mo" and a reviewer "rev"

  Scenario: A member reports that an action started at the May meeting and the lead approves it
    When "mo" submits that action 1.1 was endorsed at the meeting of 2022-05-12
    Then action 1.1 is still proposed
    When "lea" approves the submission
    Then the history of action 1.1 shows it was submitted by "mo" and approved by "lea"
    And the audit log verifies

  Scenario: The lead asks for the minutes before approving
    When "mo" submits that action 1.1 was endorsed at the meeting of 2022-05-12
    And "lea" returns the submission asking "please attach the minutes"
    And "mo" resubmits it with the reference "minutes-2022-05.pdf"
    And "lea" approves the submission
    Then the history of action 1.1 shows the reference "minutes-2022-05.pdf"

  Scenario: Under four eyes a lead cannot approve their own update
    Given the plan says four_eyes
    When "lea" submits that action 1.1 was endorsed at the meeting of 2022-05-12
    Then "lea" cannot approve the submission and nothing is written
    But "col" approves the submission

  Scenario: A reviewer's attempt to submit is refused
    Then "rev" cannot submit that action 1.1 was endorsed and nothing is written

  Scenario: A member fills in the tracker and one bad row is refused with its row number
    Given the lead has exported the tracker
    When "mo" fills in action 1.1 as "endorsed" on 2022-05-12 and action 1.2 as "finished" on 2022-05-12
    Then importing it refuses row 3 and nothing is written

  Scenario: Two leads approve the same submission at once
    When "mo" submits that action 1.1 was endorsed at the meeting of 2022-05-12
    Then when "lea" and "col" approve it at once exactly one succeeds
