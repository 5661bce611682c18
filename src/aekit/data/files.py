"""Tables on disk: CSV and Parquet in, CSV and Parquet out (written atomically)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import AekitError
from ..io import atomic_write

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AekitError(f"{what} {path}: unknown file type {path.suffix!r}; use .csv or .parquet")
    return fmt


def read_table(path) -> pd.DataFrame:
    """Read a CSV or Parquet file; text columns become categories' raw material."""
    path = Path(path)
    fmt = _format(path, "input")
    if not path.is_file():
        raise AekitError(f"input {path}: no such file")
    try:
        if fmt == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        raise AekitError(
            f"input {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except pd.errors.EmptyDataError:
        raise AekitError(f"input {path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise AekitError(f"input {path}: malformed CSV ({first})") from None
    except (OSError, ValueError) as exc:
        raise AekitError(f"input {path}: cannot read it ({exc})") from None


def write_table(df: pd.DataFrame, path, *, force: bool = False) -> Path:
    """Write ``df`` to CSV or Parquet: whole or not at all, never over a file unless ``force``."""
    path = Path(path)
    fmt = _format(path, "output")
    if path.exists() and not force:
        raise AekitError(f"output {path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise AekitError(f"output {path}: folder {path.parent} does not exist")
    if fmt == "csv":
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
    else:
        atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
    return path
