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

  Scenario: The lead sees in the progress report how long an update waited
    When "mo" submits that action 1.1 was endorsed at the meeting of 2022-05-12
    And the submission has waited 10 days
    And "lea" approves the submission
    Then the progress report's updates in the period show action 1.1 submitted by "mo", approved by "lea", after 10 days
    And nothing is pending review in the progress report

  Scenario: A submission left waiting for a lead is flagged
    When "mo" submits that action 1.2 was endorsed at the meeting of 2022-05-12
    And the submission has waited 20 days
    Then the check flags action 1.2 as waiting 20 days for review
    And the progress report lists action 1.2 as pending review for 20 days

  Scenario: A member's comment on an action joins its history once the lead approves it
    When "mo" comments on action 1.1 "Venue booked for the training"
    And "lea" approves the submission
    Then the history of action 1.1 shows the comment "Venue booked for the training" by "mo" approved by "lea"

  Scenario: Only the plan's lead reloads the plan file once the group has accounts
    Then "mo" cannot reload the plan file and nothing is written
    But "lea" reloads the plan file
