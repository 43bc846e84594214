"""The tracker spreadsheet (issue 14): export for members to fill in, import as submissions."""
