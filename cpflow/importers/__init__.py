"""Spreadsheet import: a coordinator's own work-plan table (.xlsx, .xls, .ods, .csv) into a
plan. `service.import_file` is the entry point; docs/importing.md describes the mapping.

readers  file -> sheets of cells          columns  header row -> fields
mapping  the optional mapping file        rows     data rows -> drafts (fill-down, cells)
context  the plan as stored               build    drafts -> PlanSpec (codes, periods …)
"""
