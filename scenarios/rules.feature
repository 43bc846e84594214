Feature: Checking work plans against their framework's criteria
  As a working-group lead, a governance reviewer or a sector plugin author
  I want each criterion of the framework checked as a coded rule, as of any date,
  so that I see what is late, underfunded or missing, and can add my sector's own criteria.

  Scenario: A lead checks the CPMS framework as of 1 January 2024
    Given the CPMS Working Group's 2022-2025 framework is loaded
    And the co-lead has recorded that action 1.1 was completed on 2023-10-15
    When the lead checks the framework as of 2024-01-01 for actions not finished by the end of their phase
    Then every unfinished Years 1-2 action is flagged once
    And action 1.1 is not flagged
    And no Years 3-4 action is flagged
    And the check passes, since these findings are warnings

  Scenario: A governance reviewer checks the Alliance 2018 budgets against a 50% gap threshold
    Given the Alliance 2018-2020 work plan is loaded
    When the reviewer checks the funding gaps with a threshold of 0.5
    Then the units flagged for 2018 are secretariat, tf1, tf2, tf5, tf6, wg2 and wg3
    When the reviewer checks the funding gaps with a threshold of 0.9
    Then the units flagged for 2018 are tf1, tf5 and wg2
    When the reviewer checks the declared gaps
    Then no declared gap differs from budget minus received

  Scenario: A plugin author installs a sector plugin and sees its rule at work
    Given a health plan with an unled health action in progress is loaded
    And the plugin author has installed the cpflow-health plugin
    When the plugin author lists the rules
    Then H101 is listed as coming from the health plugin
    When the plugin author checks the health plan
    Then H101 flags the unled health action

  Scenario: A crashing rule is reported and the other rules still report
    Given the CPMS Working Group's 2022-2025 framework is loaded
    And a plugin whose rule crashes is installed
    When the lead checks the framework as of 2024-01-01
    Then the crash is reported as one error naming the rule and the exception
    And the unfinished Years 1-2 actions are still flagged
    And the check fails, since an error was found

  Scenario: A lead states once that the framework leaves leads to a later work plan
    Given the CPMS Working Group's 2022-2025 framework is loaded with leads waived for the whole plan
    When the lead checks the framework for actions without a lead
    Then no action is flagged for having no lead
    And the summary says how many findings were waived
    And the check passes
