"""The ``aekit`` command line: a thin shell over the library.

``main(argv)`` returns the exit code: 0 on success, 2 on bad input (one
readable line on stderr, no traceback unless ``--debug``). The application and
what its commands share are in :mod:`.app`; the commands are grouped in
:mod:`.impute` (impute) and :mod:`.models` (fit, encode, score, sample, report,
demo).
"""

import sys

from . import impute, models  # noqa: F401  (each registers its commands on app)
from .app import app, main

__all__ = ["app", "main", "run"]


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
