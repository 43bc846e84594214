Feature: Putting our work plans into cpflow
  As a working-group lead or a sub-cluster coordinator
  I want to load our framework from its plan file, or bring in the Excel work plan we already use,
  and be told plainly what is wrong when a file has a mistake,
  so that what cpflow tracks is exactly our plan, and loading it twice never muddles it.

  Scenario: A lead loads the CPMS framework and sees the Years 1-2 actions
    When the co-lead loads the CPMS Working Group's 2022-2025 framework
    Then cpflow says the framework was loaded with 72 actions
    And the listing shows 45 Years 1-2 actions across the 7 strategic objectives
    And every Years 1-2 action is due by the end of Year 2, 2023-12-31

  Scenario: Loading the framework again changes nothing
    Given the co-lead has loaded the CPMS Working Group's 2022-2025 framework
    When the co-lead loads the same file again
    Then cpflow says the framework is unchanged
    And nothing new is written to the audit trail

  Scenario: A plan file with mistakes is refused, line by line, and nothing is written
    Given the co-lead has loaded the CPMS Working Group's 2022-2025 framework
    When the co-lead loads a plan file with a due date before its start, an unknown state and a repeated code
    Then cpflow refuses it and names each mistake with its line and where it is in the file
    And nothing in the database has changed

  Scenario: A coordinator brings in their own Excel work plan with a mapping file
    Given the coordinator's Excel work plan calls the activity "Action point", the lead "Focal agency" and the status "Situation"
    When the coordinator tries a dry run of the import without saying what those headers mean
    Then cpflow says it read "Action point" as the activity and how to change that, and writes nothing
    When the coordinator imports it with their mapping file
    Then the plan has the coordinator's 3 actions with their focal agencies, deadlines and statuses
    And importing the same work plan again changes nothing

  Scenario: An action that serves two objectives counts under each
    Given a plan file whose joint assessment contributes to objectives 2 and 3, and one action that names no objective
    When the coordinator loads it and reads the progress report
    Then the joint assessment counts under objective 2 and under objective 3, and the report says so
    And the action that names no objective counts under "(none)", not under a guessed objective

  Scenario: The CP SWG 2025 plan shows only what its source states, and its readings where users see them
    When the coordinator loads the CP SWG 2025 work plan
    Then no action is linked to an objective, because the source's objective column names areas
    And each action's notes say which objective its area reads as
    And the remarks the source wrote in the result column are notes, not expected results

  Scenario: A plan file with a budget too large to store is refused in one line
    Given the co-lead has loaded the CPMS Working Group's 2022-2025 framework
    When the co-lead loads a plan file whose budget is 99999999999999999999999 dollars
    Then cpflow refuses it in one line naming the budget and the largest amount it can store
    And nothing in the database has changed
