"""What every command-line entry point shares (driver.py, train_model.py, evaluate_model.py and
`python -m ecgcinc`): a problem with what the user gave (a missing or invalid folder, an
unreadable configuration, an unknown option value) is one line on stderr and exit status 2,
not a traceback.  ECGCINC_DEBUG=1 shows the traceback.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

from .evidence.executors import UnitsFailed

DEBUG_ENV = "ECGCINC_DEBUG"
USAGE_STATUS = 2
FAILED_RECORDS_STATUS = 1   # the driver wrote every output, but some records failed
# OSError: missing folders and files, permissions; ValueError: invalid values, JSON syntax;
# KeyError: unknown configuration keys; UnitsFailed: experiment units that failed twice (their
# tracebacks are already in the log, the line names them).
USER_ERRORS = (OSError, ValueError, KeyError, UnitsFailed)


def _message(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else error
    return f"error: {text}"


def run_cli(main: Callable[[], int | None]) -> int:
    """Run main(); the exit status: main's own (an int; None is 0), or 2 with one line naming the
    problem."""
    try:
        status = main()
    except USER_ERRORS as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(_message(error), file=sys.stderr, flush=True)
        return USAGE_STATUS
    return status if isinstance(status, int) else 0
