"""Data on disk: tables (CSV, Parquet) and images (NumPy ``.npy``, IDX files,
folders of PNG files), read, and written atomically."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AekitError
from ..io import atomic_write
from .images import load_images, save_png_folder, write_idx

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ACCEPTED = (
    "use .csv or .parquet for a table; .npy, an IDX file (a name with 'idx' or 'ubyte') "
    "or a folder of PNG files for images"
)


def _format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AekitError(f"{what} {path}: unknown file type {path.suffix!r}; {ACCEPTED}")
    return fmt


def read_table(path) -> pd.DataFrame:
    """Read a CSV or Parquet file; text columns become categories' raw material."""
    path = Path(path)
    fmt = _format(path, "input")
    if not path.is_file():
        raise AekitError(f"input {path}: no such file")
    with reading(path):
        if fmt == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)


@contextmanager
def reading(path: Path):
    """Turn what pandas and pyarrow raise on a bad table file into one clear error."""
    try:
        yield
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
    check_output(path, "table", force=force)
    if FORMATS[path.suffix.lower()] == "csv":
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
    else:
        atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
    return path


# ------------------------------------------------------------------ tables or images
def _is_idx_name(path: Path) -> bool:
    name = path.name.lower()
    return "idx" in name or "ubyte" in name


def _image_kind(path: Path) -> str | None:
    """ "npy", "idx" or "png" for a path that names images, None for a table."""
    if path.suffix.lower() in FORMATS:
        return None
    if path.suffix.lower() == ".npy":
        return "npy"
    if path.is_dir():
        return "png"
    if _is_idx_name(path):
        return "idx"
    if not path.exists() and path.suffix == "":
        return "png"  # a folder to write
    if path.is_file():
        with open(path, "rb") as f:
            head = f.read(2)
        if head in (b"\x00\x00", b"\x1f\x8b"):  # IDX, plain or gzipped
            return "idx"
    return None


def read_data(path, *, missing: bool = True):
    """A table as a DataFrame (CSV, Parquet) or images as an array (see
    :func:`aekit.data.images.load_images`; ``.npy`` arrays as stored).

    With ``missing``, NaN pixels (and fully transparent PNG pixels) are kept as
    missing values; an ``.npy`` file must hold numbers (no pickled objects).
    """
    path = Path(path)
    kind = _image_kind(path)
    if kind is None:
        return read_table(path)
    if not path.exists():
        raise AekitError(f"input {path}: no such file or folder")
    if kind != "npy":
        return load_images(path, missing=missing)
    try:
        array = np.load(path, allow_pickle=False)  # never runs code from the file
    except ValueError as exc:
        raise AekitError(f"input {path}: not a NumPy array of numbers ({exc})") from None
    except OSError as exc:
        raise AekitError(f"input {path}: cannot read it ({exc})") from None
    if array.dtype.kind not in "biuf" or array.ndim not in (2, 3, 4):
        raise AekitError(
            f"input {path} holds a {array.ndim}-D array of {array.dtype}; aekit reads "
            "numbers of shape (n, features), (n, H, W) or (n, C, H, W)"
        )
    return array


def check_output(path, kind: str = "data", *, force: bool = False, inputs=()) -> str:
    """Refuse an output path aekit could not or should not write; return the type
    of file it names ("table", "npy", "idx", "png"; "" for ``kind="any"``).

    Refused: one of the ``inputs`` (aekit never overwrites what it reads), a
    file type that cannot hold ``kind`` ("table", "images", "data": either, or
    "any": not checked, e.g. a model directory), an existing file without
    ``force``, a folder that does not exist.
    """
    path = Path(path)
    for source in inputs:
        if path.resolve() == Path(source).resolve():
            raise AekitError("output must differ from input; aekit never overwrites its input")
    found = "" if kind == "any" else (_image_kind(path) or "")
    if kind != "any" and not found:
        if path.suffix.lower() not in FORMATS:
            raise AekitError(f"output {path}: unknown file type {path.suffix!r}; {ACCEPTED}")
        found = "table"
    if kind == "images" and found == "table":
        raise AekitError(f"output {path}: images are not a table; {ACCEPTED}")
    if kind == "table" and found != "table":
        raise AekitError(f"output {path}: a table is written as .csv or .parquet")
    if path.exists() and not force:
        raise AekitError(f"output {path} exists; pass --force to overwrite it")
    if found not in ("png", "") and not path.parent.is_dir():
        raise AekitError(f"output {path}: folder {path.parent} does not exist")
    return found


def write_data(data, path, *, force: bool = False) -> Path:
    """Write a DataFrame as CSV or Parquet, or an array of images as ``.npy``,
    an IDX file (float32; gzipped for a name ending in ``.gz``) or a folder of
    PNG files (a path without a suffix); whole or not at all."""
    path = Path(path)
    if isinstance(data, pd.DataFrame):
        return write_table(data, path, force=force)
    data = np.asarray(data)
    kind = check_output(path, "images" if data.ndim > 2 else "table", force=force)
    if kind == "table":
        return write_table(pd.DataFrame(data), path, force=force)
    if kind == "png":
        return save_png_folder(data, path, force=force)
    if kind == "idx":
        return write_idx(path, data.astype(np.float32), force=force)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # np.save would add ".npy" to a temporary name
            np.save(f, data, allow_pickle=False)

    atomic_write(path, save)
    return path
