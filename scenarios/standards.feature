Feature: The work plan in the formats donors, HDX and the cluster system read
  As the information-management officer of the Alliance for Child Protection in Humanitarian Action
  I want IATI files for the donors and the transparency registry, HXL-tagged 3W tables for OCHA and HDX,
  the indicator performance tracking table and the localisation share, all from the same work plan,
  so that I never retype the plan and every file I send is one its own validator accepts.

  Scenario: I export an IATI file that the official schema accepts
    Given the Alliance's 2018-2020 work plan is loaded
    When I export the work plan as IATI for the reporting organisation XM-TEST-1
    Then the file passes the official IATI 2.03 schema and the code-list checks
    And it holds the work plan as the parent activity and each of its 259 actions as a child

  Scenario: A broken reporting organisation is refused with a clear message
    Given the Alliance's 2018-2020 work plan is loaded
    When I export the work plan as IATI for the reporting organisation XM-DAC/47035
    Then the export is refused in one line that names the reporting organisation and the "/"
    And no IATI file is written

  Scenario: I export a HXL 3W that libhxl reads
    Given the Alliance's 2018-2020 work plan is loaded
    When I export the activities as a HXL 3W table
    Then libhxl reads the table, one row per action, and it passes its HXL schema
    And the lead organisation of action SEC-1.1 reads "Save the Children, UNICEF"

  Scenario: I import a HXL 3W downloaded from HDX, without a mapping file
    Given a 3W sheet from HDX with a row of headers, a row of HXL hashtags and 3 activities
    When I import the sheet as the new plan iraq-3w
    Then the plan has the 3 activities, the hashtag row is not one of them
    And activity CP-01 is led by UNICEF with War Child, in Iraq, in progress, from 2024-01-15 to 2024-12-31

  Scenario: I read the indicator performance tracking table
    Given a monitoring plan with quarterly targets and the measurements of the first half of 2024
    When I build the indicator performance tracking table as of 2024-08-15 in Excel
    Then caseworkers trained in q1 shows 18 against a target of 20, 90% of target, on track
    And caseworkers trained in q2 shows 12 against 20, 30 to date, off track
    And caseworkers trained in q3, not reported yet, is blank and not 0

  Scenario: I see the localisation share
    Given a plan whose organisations say which are national or local actors
    When I build the progress report as of 2024-06-01
    Then the report shows 28.6% of live activities led or co-led by national or local actors
    And it says 1 activity could not be classified
    And it lists Local NGO as a national or local actor and why
