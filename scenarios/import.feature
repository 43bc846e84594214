Feature: Bringing our tracker spreadsheet into cpflow
  As a sub-cluster coordinator who keeps the work plan in Excel
  I want to import my tracker with its statuses and comments as they stand on the date I updated it
  so that cpflow's history says when each status held, and importing it again never muddles it.

  Scenario: A coordinator imports their tracker with statuses and comments
    Given my tracker says "as of 30 June 2025" above the table, and has Status and Comments columns
    When I import the tracker
    Then cpflow says the statuses are dated 30 June 2025, from the title rows
    And the ongoing action shows as in progress today, but as proposed on 29 June 2025
    And the cancelled action is dropped with the reason from its comment
    And each status is one imported status in the action's history
    When I import the same tracker again
    Then cpflow says the plan is unchanged and nothing new is written

  Scenario: A cancelled row without a comment is refused until it says why
    Given my tracker has a cancelled action with an empty Comments cell
    When I import the tracker
    Then cpflow refuses it, naming the row and asking for the reason in a Comments cell
    And nothing is written
