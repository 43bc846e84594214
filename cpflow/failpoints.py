"""Failpoints for crash tests: `CPFLOW_FAILPOINT=NAME` kills the process at that point.

They let tests prove that a crash between two writes of one transaction leaves nothing
behind, deterministically rather than by racing a timer.
"""

import os
import signal


def failpoint(name: str) -> None:
    if os.environ.get("CPFLOW_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
