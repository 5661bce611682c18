"""The version of aekit (one place: the package, its model files and its reports read it)."""

__version__ = "0.1.0"
