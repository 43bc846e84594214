#!/bin/bash
# How tests/data/cpflow-0.1.db was made, with cpflow 0.1 itself (commit dd81346):
#   git worktree add /tmp/cpflow-0.1 dd81346 && python3 -m venv /tmp/cpflow-0.1/.venv
#   /tmp/cpflow-0.1/.venv/bin/pip install /tmp/cpflow-0.1
#   W=/tmp/h12 holds alliance-trimmed.yaml: workflows/alliance-2018-2020.yaml at dd81346 with only the
#   units secretariat and wg2, their objectives and budgets (and plan.about cut to three keys).
#   ./cpflow-0.1-make.sh sqlite:////tmp/h12/cpflow-0.1.db, then PRAGMA journal_mode=DELETE; VACUUM.
# The plan file as last loaded is tests/data/cpflow-0.1-alliance.yaml.
set -e
DB="$1"
C="/tmp/cpflow-0.1/.venv/bin/cpflow --db $DB"
W=/tmp/h12
$C init
$C load $W/alliance-trimmed.yaml /tmp/cpflow-0.1/workflows/iraq-cpsc-2015-2016.yaml --by "Alliance secretariat"
A=alliance-2018-2020
$C move $A:SEC-1.1 endorse --by "Steering Committee" --at 2018-03-09 --ref "SC minutes 2018-03"
$C move $A:SEC-1.1 start --by "Alliance secretariat" --at 2018-04-02
$C move $A:SEC-1.1 complete --by "Alliance secretariat" --at 2019-06-30
$C move $A:SEC-1.2 endorse --by "Steering Committee" --at 2018-03-09
$C move $A:SEC-1.2 drop --by "Steering Committee" --at 2018-09-01 --reason "merged into SEC-1.1"
$C move $A:WG2-1.1 endorse --by "WG2 co-lead" --at 2018-03-09
$C move $A:WG2-1.1 start --by "WG2 co-lead" --at 2018-05-01
$C move $A:SEC-1.1 reopen --by "Alliance secretariat" --at 2019-09-01 --reason "second edition"
$C move iraq-cpsc-2015-2016:1.1 endorse --by "CPSC coordinator" --at 2015-10-01
$C measure $A:WG2-IND-1 35 --at 2019-12-31 --period 2018-2020 --by "WG2 co-lead" --source "annual survey 2019"
$C fund $A:secretariat --period 2018 --received 300000 --by "Alliance secretariat" --at 2018-10-15 --reason "donor tranche 2"
# A reload with edits: an activity's title, an unmoved activity's state, the plan's description.
sed -e 's/^  description: "This work plan sets out/  description: "Revised. This work plan sets out/' $W/alliance-trimmed.yaml > $W/alliance-edited.yaml
/work/main/.venv/bin/python - <<'PY'
import yaml
p = "$W/alliance-edited.yaml"
d = yaml.safe_load(open(p))
acts = d["objectives"][0]["activities"]
acts[0]["title"] = acts[0]["title"] + " (revised)"  # SEC-1.1, moved
acts[2]["state"] = "endorsed"  # SEC-1.3, unmoved
d["plan"]["description"] = "Revised. " + d["plan"]["description"]
yaml.safe_dump(d, open(p, "w"), allow_unicode=True, sort_keys=False)
PY
$C load $W/alliance-edited.yaml --by "Alliance secretariat"
$C audit verify
