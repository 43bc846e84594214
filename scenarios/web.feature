Feature: The working group in the browser
  Members report what happened from a browser or a filled-in spreadsheet, the lead
  decides from the review queue, and the reviewer takes the pack to the steering group.

  Background:
    Given the mini plan is open in the browser for a lead "lea", a member "mo" and a reviewer "rev"
    And action 1.1 was endorsed at the May 2022 meeting

  Scenario: A member reports that an action started and the lead approves it from the review queue
    When "mo" signs in and reports that action 1.1 started on 2022-06-01
    Then "mo" is told the update waits for a lead
    And action 1.1 is still endorsed
    When "lea" signs in and approves the update from the review queue
    Then the timeline of action 1.1 shows it started, reported by "mo" and approved by "lea"
    And the review queue of "lea" is empty

  Scenario: A member leaves a note on an action and the lead approves it into its timeline
    When "mo" signs in and comments on action 1.1 "Venue booked for the June training"
    Then "mo" is told the comment waits for a lead
    And the timeline of action 1.1 does not show "Venue booked for the June training"
    When "lea" signs in and approves the update from the review queue
    Then the timeline of action 1.1 shows the comment "Venue booked for the June training" by "mo", approved by "lea"
    And action 1.1 is still endorsed

  Scenario: The reviewer downloads the review pack for the steering group
    When "rev" signs in and downloads the review pack as of 2023-06-30
    Then the pack holds the progress workbook, the compliance workbook, the HTML report and the manifest
    And "rev" is offered no button to move action 1.1

  Scenario: A member fills in the tracker spreadsheet and uploads it
    When "mo" signs in and downloads the tracker
    And fills in that action 1.1 started on 2022-06-01 because "training began in June"
    And uploads the filled tracker
    Then "mo" is told "1 submitted for review"
    And the review queue of "lea" shows the start of action 1.1 reported by "mo"

  Scenario: A tracker with a date in the future is refused with its row and nothing is written
    When "mo" signs in and downloads the tracker
    And fills in that action 1.1 started on 2099-01-01 because "planned"
    And uploads the filled tracker
    Then "mo" sees the problem "Activities row 2, column Date" and that nothing was written
    And the review queue of "lea" is empty

  Scenario: The lead's own note is returned by the co-lead and she revises it from My submissions
    # Lea: "A note of mine waits for another lead like anyone's. When Col sends it back, I want
    # to see why and fix it in the browser, without asking for the command line."
    When "lea" signs in and comments on action 1.1 "Training done"
    And "col" signs in and returns it to its author saying "Say how many staff were trained"
    Then "lea" sees on her dashboard that 1 of her submissions was returned to her
    When "lea" opens it, reads "Say how many staff were trained" and resubmits the note as "Training held for 30 staff"
    Then "lea" is told her note waits for another lead or co-lead
    When "col" signs in and approves the update from the review queue
    Then the timeline of action 1.1 shows the comment "Training held for 30 staff" by "lea", approved by "col"
