Feature: Recording the progress of a work plan's actions
  As a working-group lead
  I want to record when each action was endorsed, started, completed or dropped,
  with who decided it and why, on the date it really happened,
  so that our history is always correct and anyone can check it.

  Background:
    Given the CPMS Working Group's 2022-2025 framework is loaded

  Scenario: A lead endorses, starts and completes an action
    When the co-lead records that action 1.1 was endorsed at the meeting of 2022-05-12
    And the co-lead records that action 1.1 was started on 2022-06-01
    And the co-lead records that action 1.1 was completed on 2023-03-31
    Then action 1.1 is completed
    And the history of action 1.1 shows endorse, start and complete with who and when

  Scenario: An illegal move is refused and the history is unchanged
    When the co-lead tries to record that action 2.11 was completed
    Then the move is refused with a message saying what is allowed from proposed
    And action 2.11 has no history

  Scenario: Dropping an action needs a reason
    When the co-lead tries to drop action 3.5 without giving a reason
    Then the move is refused with a message asking for a reason
    And action 3.5 is proposed

  Scenario: A move backdated to a meeting date shows up from that date only
    When the co-lead records that action 2.1 was endorsed at the meeting of 2022-11-30
    Then a listing as of 2022-11-29 shows action 2.1 as proposed
    And a listing as of 2022-11-30 shows action 2.1 as endorsed

  Scenario: Tampering with the record is caught
    Given the co-lead has recorded that action 1.1 was endorsed at the meeting of 2022-05-12
    When someone with access to the database file rewrites who endorsed it
    Then checking the audit trail fails and names the altered event
