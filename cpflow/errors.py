"""cpflow's own exceptions. Services raise them; the CLI turns each into one line on
stderr and the exit code documented here."""

EXIT_OK = 0
EXIT_FINDINGS = 1  # `check` found problems at --fail-on, or `audit verify` found tampering
EXIT_BAD_INPUT = 2
EXIT_CONFLICT = 3  # the activity changed since it was read (stale version)
EXIT_BUSY = 4  # the database stayed locked past the retry budget


class CpflowError(Exception):
    """Base class: a message meant for the user, and the exit code for it.

    `field` names the input the problem is about (`actor`, `reason` …) in the service's
    own terms; a face (the CLI, the web app) adds how to give it (`--by WHO`, a form field).
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field


class BadInput(CpflowError):
    """Input the user can fix: an unknown name, a malformed value, a missing option."""


class NotFound(BadInput):
    """A plan, activity, indicator or unit that does not exist."""


class IllegalTransition(BadInput):
    """A move the lifecycle does not allow from the activity's current state."""


class GuardVeto(BadInput):
    """A move vetoed by a plugin's transition guard."""


class PlanFileError(BadInput):
    """A plan file or spreadsheet that failed validation; carries every problem found."""

    def __init__(self, source: str, problems: list[str], total: int | None = None):
        """`problems` as listed; `total` counts them all when only the first are listed."""
        self.source = source
        self.problems = problems
        count = total or len(problems)
        self.headline = f"{source}: {count} problem{'s' if count != 1 else ''}; nothing was written"
        super().__init__(self.headline + "\n" + "\n".join(problems))


class DatabaseError(BadInput):
    """The database cannot be reached, is not a cpflow database, or needs `cpflow init`."""


class ConflictError(CpflowError):
    """The activity changed since it was read; nothing was written."""

    exit_code = EXIT_CONFLICT


class BusyError(CpflowError):
    """The database stayed locked by other writers past the retry budget."""

    exit_code = EXIT_BUSY
