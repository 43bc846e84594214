"""Progress and compliance reports (docs/reports.md).

Builders make a report object from DataFrames (`progress`, `compliance`, with
`breakdowns`, `lists`, `indicators`, `funding`, `changes` and plugin sections); writers
render it (`xlsx`, `html` with `svg` and `templates/`, `markdown`, `jsonout`, `csvout`);
`build` reads the database in one snapshot and `pack` writes a review folder.
"""
