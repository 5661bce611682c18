"""aekit's own error types.

Every problem with what a user passed in is raised as an :class:`AekitError`
(a :class:`ValueError`, so scikit-learn's conventions still hold) whose message
names the argument or column at fault.
"""


class AekitError(ValueError):
    """Bad input or bad settings; the message names the column or argument."""


class ModelFileError(AekitError):
    """A model file that is missing, corrupted, or not an aekit model."""


class AekitWarning(UserWarning):
    """Something in the data that aekit can handle but the user should know of."""
