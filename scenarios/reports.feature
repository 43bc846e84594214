Feature: Progress and compliance reports a governance review can open, read and trust
  As a reviewer on the steering group of the CPMS Working Group
  I want the progress and compliance reports as of the date of the review,
  with what changed since the previous review, in files I can open without cpflow,
  so that I can compare reviews and trust that nothing in them was altered or can run.

  Background:
    Given the CPMS Working Group's 2022-2025 framework is loaded
    And the co-lead has recorded the working group's progress up to the end of 2023

  Scenario: A reviewer sees the Years 1-2 completion rate
    When the reviewer builds the progress report for the framework as of 2023-12-31
    Then the report shows 3 of 44 live Years 1-2 actions completed, 6.8%
    And the Summary sheet of the Excel report shows the same rate

  Scenario: A reviewer reads a report on the last day of a phase
    When the reviewer builds the progress report for the framework as of 2023-12-31
    Then no action due by then and not completed shows as on track
    And the report says 41 of 44 live Years 1-2 actions were not completed by the end of the phase
    And the actions still open on their due date are listed as due now, in amber
    When the reviewer builds the progress report for the framework as of 2024-01-01
    Then the same actions are overdue, in red

  Scenario: A reviewer sees only what changed since the previous review
    When the reviewer builds the progress report as of 2023-12-31 since the review of 2023-06-30
    Then the change log lists the moves of actions 3.5 and 1.2, with who and why
    And no move dated on or before 2023-06-30 is in the change log
    And the change log shows the stale finding on action 2.1 appeared and the one on action 1.2 was resolved

  Scenario: A report built for a past date stays the same after later moves
    Given the reviewer has built the review pack as of 2023-12-31
    When the co-lead records that action 2.1 was completed on 2024-02-15
    And the reviewer builds the review pack as of 2023-12-31 again
    Then every report in the two packs is byte-identical
    And the manifests differ only in the event-log data they were built from

  Scenario Outline: A malicious title cannot execute
    Given the plan file gives action 1.4 the title <title>
    When the reviewer builds the review pack as of 2023-12-31
    Then the title is a plain text cell in both workbooks, never a formula
    And the HTML report shows the title as text and holds no script

    Examples:
      | title                                  |
      | =HYPERLINK("http://x","y")             |
      | +cmd\|' /C calc'!A0                    |
      | @SUM(1)                                |
      | <script>alert('cpflow')</script>       |
