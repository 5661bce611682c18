"""aekit's own error types.

Every problem with what a user passed in is raised as an :class:`AekitError`
(a :class:`ValueError`, so scikit-learn's conventions still hold) whose message
names the argument or column at fault.
"""

import inspect
import warnings


class AekitError(ValueError):
    """Bad input or bad settings; the message names the column or argument."""


class ModelFileError(AekitError):
    """A model file that is missing, corrupted, or not an aekit model."""


class AekitWarning(UserWarning):
    """Something in the data that aekit can handle but the user should know of."""


# frames of these packages are skipped: aekit's own, and the libraries that call
# into it (scikit-learn's set_output wrapper of fit_transform, pandas' apply, ...)
_CALLERS_SKIPPED = ("aekit", "sklearn", "pandas", "numpy", "torch")


def warn(message: str, category: type[Warning] = AekitWarning) -> None:
    """Warn at the user's line: the first frame of the call stack outside the
    packages of :data:`_CALLERS_SKIPPED`, whatever the path from it to here (a
    fixed ``stacklevel`` points elsewhere when the same check is reached through
    ``fit``, ``fit_transform`` or a streamed file)."""
    frame, level = inspect.currentframe().f_back, 2  # stacklevel 2: the caller of warn
    while frame.f_back is not None and _skipped(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _skipped(frame) -> bool:
    module = frame.f_globals.get("__name__", "")
    return module.partition(".")[0] in _CALLERS_SKIPPED
