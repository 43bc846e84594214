"""Sections that plugins add through the `report_sections` hook.

Each plugin is called on its own, in plugin-name order, so one plugin's failure or bad
return value becomes a line in a "Plugin problems" section instead of losing the report.
"""

from __future__ import annotations

import pandas as pd

from cpflow.reports.model import Column, Section


def collect(plugins, report) -> list[Section]:
    if plugins is None:
        return []
    sections, problems = [], []
    for result in sorted(plugins.call("report_sections", report=report), key=lambda result: result.plugin):
        if not result.ok:  # a plugin never takes the report down
            problems.append((result.plugin, f"report_sections raised {result.error}"))
            continue
        returned = result.value
        if not isinstance(returned, (list, tuple)):
            returned = [] if returned is None else [returned]
        for item in returned:
            if isinstance(item, Section):
                sections.append(item)
            else:
                problems.append((result.plugin, f"report_sections returned {type(item).__name__}, not a Section"))
    taken = {s.key for s in report.sections}
    for section in sections:
        while section.key in taken:
            section.key += "-plugin"
        taken.add(section.key)
    if problems:
        table = pd.DataFrame(problems, columns=["plugin", "problem"])
        columns = (Column("plugin", "Plugin"), Column("problem", "Problem"))
        sections.append(Section("Plugin problems", table, key="plugin-problems", columns=columns))
    return sections
