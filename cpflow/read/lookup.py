"""Finding what a command names: a plan by slug, an activity by `plan:code`.

Unknown names get one line with what is known and, for a near miss, a "did you mean".
"""

from __future__ import annotations

import difflib

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpflow.errors import BadInput, NotFound
from cpflow.models import Plan


def split_id(ident: str, what: str = "activity") -> tuple[str, str]:
    """'plan:code' -> ('plan', 'code'); BadInput for anything else."""
    plan, sep, code = (ident or "").partition(":")
    if not sep or not plan.strip() or not code.strip():
        raise BadInput(f"{ident!r}: expected PLAN:CODE for the {what}, e.g. cpms-wg-2022-2025:2.11")
    return plan.strip(), code.strip()


def did_you_mean(name: str, known: list[str]) -> str:
    """'; did you mean X?' for a close match among `known`, else ''."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def find_plan(session: Session, slug: str) -> Plan:
    """The plan with this slug, or NotFound naming the plans there are."""
    plan = session.execute(select(Plan).where(Plan.slug == slug)).scalar_one_or_none()
    if plan is None:
        known = list(session.scalars(select(Plan.slug).order_by(Plan.slug)).all())
        if not known:
            raise NotFound(f"unknown plan {slug!r}; no plan is loaded yet (cpflow load FILE)")
        hint = did_you_mean(slug, known) or f"; plans are {', '.join(known)}"
        raise NotFound(f"unknown plan {slug!r}{hint}")
    return plan


def unknown(what: str, ident: str, name: str, known: list[str], *, scope: str = "the plan") -> NotFound:
    """NotFound for an unknown activity, indicator, unit or period of a plan: a "did you
    mean" for a near miss, else the known names (the first 20), else that there are none."""
    hint = did_you_mean(name, known)
    if not hint and known:
        shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
        hint = f"; {what}s are {shown}"
    elif not known:
        hint = f"; {scope} declares no {what}s"
    return NotFound(f"unknown {what} {ident}{hint}")


def unknown_activity(session: Session, plan: Plan, ident: str, code: str) -> NotFound:
    """NotFound for `plan:code` when the plan has no such activity."""
    from cpflow.models import Activity

    codes = list(session.scalars(select(Activity.code).where(Activity.plan_id == plan.id).order_by(Activity.position)))
    hint = did_you_mean(code, codes)
    return NotFound(f"unknown activity {ident}: plan {plan.slug} has no activity {code!r}{hint}")


def person_named(people: list[dict] | None, actor: str) -> dict | None:
    """The declared person `actor` names (names match without regard to case), or None."""
    folded = actor.casefold()
    return next((p for p in people or () if str(p.get("name", "")).casefold() == folded), None)


def declared_name(people: list[dict] | None, actor: str) -> str:
    """`actor` spelt as the plan declares the person, so one person has one name in the log."""
    person = person_named(people, actor)
    return person["name"] if person else actor
