"""Data on disk: tables (CSV, Parquet) and images (NumPy ``.npy``, IDX files,
folders of PNG files), read, and written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import AekitError
from ..io import atomic_write
from .cells import (
    READ_BY_AEKIT,
    UNNAMED_ADVICE,
    as_input_types,
    as_nullable,
    codes,
    dates_as_times,
    holed_integers,
    warn_codes,
    warn_row_numbers,
    whole_number_columns,
)
from .dialect import PLAIN, Dialect, inspect_csv, reading
from .images import load_images, png_files, save_png_folder, write_idx
from .markers import warn_text_markers
from .spelling import Spelling

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ACCEPTED = (
    "use .csv or .parquet for a table; .npy, an IDX file (a name with 'idx' or 'ubyte') "
    "or a folder of PNG files for images"
)


def _format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None and _compressed_table(path):
        raise AekitError(
            f"{what} {path}: a compressed table; aekit reads .csv and .parquet files as "
            "they are, so decompress it first (Parquet compresses its columns itself)"
        )
    if fmt is None:
        raise AekitError(f"{what} {path}: unknown file type {path.suffix!r}; {ACCEPTED}")
    return fmt


def _compressed_table(path: Path) -> bool:
    """A name such as ``data.csv.gz``: a table inside a compressed file."""
    suffixes = [s.lower() for s in path.suffixes]
    return len(suffixes) > 1 and suffixes[-2] in FORMATS


def dialect_of(path, dialect: Dialect | None = None) -> Dialect:
    """The dialect of a CSV file (``dialect`` if given, else :func:`inspect_csv`);
    commas and points for any other file, so that outputs follow their input."""
    path = Path(path)
    if FORMATS.get(path.suffix.lower()) != "csv" or not path.is_file():
        return PLAIN
    return inspect_csv(path, dialect)[0]


def check_header(path, header: list) -> None:
    """Refuse a header that names a column twice (pandas would rename one)."""
    unnamed = [i + 1 for i, name in enumerate(header) if name == ""]
    if len(unnamed) > 1:
        # the last columns: separators at the ends of lines; others: names left out
        last = unnamed == list(range(len(header) - len(unnamed) + 1, len(header) + 1))
        raise AekitError(
            f"input {path}: columns {unnamed} of {len(header)} have no name in its header; "
            + (UNNAMED_ADVICE if last else "give each column a name in the header line")
        )
    dupes = sorted({str(name) for name in header if header.count(name) > 1})
    if dupes:
        raise AekitError(
            f"input {path} has duplicate column names: {dupes}; aekit writes your header "
            "back as it is, so make each name unique"
        )


def read_table(path, dialect: Dialect | None = None) -> pd.DataFrame:
    """Read a CSV file (in ``dialect``, else the one its first lines tell, see
    :func:`inspect_csv`) or a Parquet file; text columns become categories' raw
    material. A header with a name twice, or without rows, is refused."""
    path = Path(path)
    fmt = _format(path, "input")
    if not path.is_file():
        raise AekitError(f"input {path}: no such file")
    with reading(path):
        if fmt == "csv":
            dialect, header = inspect_csv(path, dialect)
            check_header(path, header)
            args = dialect.read_args()
            df = _exact_integers(path, check_fields(path, pd.read_csv(path, **args)), args)
            warn_row_numbers(path, header, df.iloc[:, 0])
            df = _codes_as_text(path, df, args)
            if dialect.na is None:
                warn_text_markers(path, df, args)
        else:
            types = pq.read_schema(path)
            check_header(path, types.names)  # before pyarrow's own error on a name twice
            df = pd.read_parquet(path)
            if holed := holed_integers(df, types):  # read them exactly
                df = as_nullable(df, holed, pq.read_table(path, columns=holed))
            df = dates_as_times(df, types)
    if len(df) == 0:
        raise AekitError(f"input {path} holds no rows (a header only)")
    df.attrs[READ_BY_AEKIT] = str(path)  # what fit would warn about, said for the file
    return df


def parquet_types(path):
    """The Arrow schema of a Parquet file at ``path``; None for any other input."""
    if FORMATS.get(Path(path).suffix.lower()) != "parquet" or not Path(path).is_file():
        return None
    with reading(path):
        return pq.read_schema(path)


def check_fields(path, df: pd.DataFrame) -> pd.DataFrame:
    """Refuse a CSV table whose rows have more fields than its header has names:
    pandas would take the first fields as row labels and shift every column."""
    if not isinstance(df.index, pd.RangeIndex):
        raise AekitError(
            f"input {path}: its rows have more fields than its header has names "
            f"({df.shape[1]}: {list(df.columns)[:4]}); is there a line above the header (a "
            "title or a comment), or a separator at the end of each row? Make every line "
            "split into as many fields as the header"
            + (
                "; or, for one column of numbers written with decimal commas (1,5), pass "
                "the decimal mark (on the command line: aekit --decimal ',' COMMAND ...)"
                if len(df.columns) == 1
                else ""
            )
        )
    return df


def _exact_integers(path: Path, df: pd.DataFrame, args: dict) -> pd.DataFrame:
    """``df`` (read from the CSV file ``path`` with ``args``) with its columns of
    whole numbers beyond 2**53, which pandas reads as floats when they have
    empty cells, read again as 64-bit integers (Int64), so that they are written
    back as they were."""
    big = [c for c in df.columns if beyond_float(df[c])]
    if not big:
        return df
    text = pd.read_csv(path, **args, usecols=big, dtype=str)
    for c in big:
        written = text[c].dropna()
        if not written.str.fullmatch(r"\s*[-+]?\d+\s*").all():
            continue  # numbers written as floats (1e300)
        values = [int(v) for v in written]
        if max(map(abs, values)) >= 2**63:
            continue  # pandas reads those as Python integers, exactly
        column = pd.Series(pd.NA, index=df.index, dtype="Int64")
        column[written.index] = values
        df[c] = column
    return df


def _codes_as_text(path: Path, df: pd.DataFrame, args: dict) -> pd.DataFrame:
    """``df`` (read from the CSV file ``path`` with ``args``) with its columns of
    whole numbers that the file writes with a leading zero ("02134") read again as
    text: codes, kept as they are written (see :func:`aekit.data.cells.codes`)."""
    whole = whole_number_columns(df)
    if not whole:
        return df
    text = pd.read_csv(path, **args, usecols=whole, dtype=str)
    for c in whole:
        if (example := codes(text[c])) is not None:
            df[c] = text[c]
            warn_codes(f"column {c!r} of {path}", example, text[c].nunique())
    return df


def beyond_float(s: pd.Series) -> bool:
    """Whether ``s`` holds floats that are whole numbers beyond 2**53, as pandas
    reads a CSV column of large integers (identifiers, timestamps in
    nanoseconds) that has empty cells: a float64 keeps such integers only to
    the nearest even number or coarser, so written back they would change."""
    if s.dtype != np.float64:
        return False
    v = s.to_numpy()
    v = v[~np.isnan(v)]
    return bool(len(v)) and bool(np.all(v == np.rint(v))) and bool(np.abs(v).max() >= 2**53)


def csv_text(df: pd.DataFrame, dialect: Dialect = PLAIN, types=None) -> tuple[pd.DataFrame, dict]:
    """The frame to write as CSV text, and ``to_csv``'s arguments: float columns
    whose values are all whole numbers are written as integers (``3``, not
    ``3.0``: a count column read as floats because of its holes, once imputed),
    but not a column that ``types`` (the Arrow schema of a Parquet input, whose
    integers with holes are read as integers) stores as floats: its numbers stay
    floats in every chunk of a streamed table; an index other than row numbers
    (:func:`keeps_index`) is written as columns."""
    out = df
    floats = set() if types is None else {f.name for f in types if pa.types.is_floating(f.type)}
    for name in df.columns:
        s = df[name]
        if not pd.api.types.is_float_dtype(s.dtype) or name in floats:
            continue
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        v = v[~np.isnan(v)]
        if len(v) and np.all(v == np.rint(v)) and np.all(np.abs(v) < 2**53):
            out = df.copy(deep=False) if out is df else out
            out[name] = s.astype("Int64")
    return out, {"index": keeps_index(df), "sep": dialect.sep, "decimal": dialect.decimal}


def cell_text(path, dialect: Dialect, chunk_rows: int | None = None):
    """The cells of the CSV file ``path`` as they are written there ("" where
    empty): a DataFrame of strings, or with ``chunk_rows`` its chunks, cut where
    ``pd.read_csv`` cuts the typed ones."""
    args = {"sep": dialect.sep, "dtype": str, "keep_default_na": False, "na_filter": False}
    args["skip_blank_lines"] = not dialect.one_column
    return pd.read_csv(path, chunksize=chunk_rows, encoding=dialect.text_encoding, **args)


def as_written(
    typed: pd.DataFrame,
    text: pd.DataFrame,
    observed: np.ndarray,
    header,
    dialect=PLAIN,
    spellings: list[Spelling] | None = None,
) -> pd.DataFrame:
    """The completed table ``typed`` as the text of a CSV file whose observed
    cells read as its input wrote them (``text``, from :func:`cell_text`):
    ``01001`` stays ``01001``, ``1.10`` stays ``1.10``, ``TRUE`` stays ``TRUE``,
    and an imputed value takes the observed spelling it matches but for case
    (an imputed ``True`` in a column of ``TRUE``/``FALSE`` is ``TRUE``; an
    imputed ``3`` in a column of whole numbers written ``2.0`` is ``3.0``). The
    columns are named by ``header``, the input's own (an empty name stays
    empty). ``spellings``: one :class:`~aekit.data.spelling.Spelling` a column,
    of the file's earlier chunks, updated with this one's observed cells."""
    frame, args = csv_text(typed, dialect)
    buffer = io.StringIO()
    frame.to_csv(buffer, **{**args, "index": False})
    buffer.seek(0)
    filled = pd.read_csv(
        buffer,
        sep=dialect.sep,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=not dialect.one_column,
    ).to_numpy(copy=True)  # written to below: never a read-only view of one column's block
    written = text.to_numpy()
    spellings = spellings or [Spelling() for _ in range(written.shape[1])]
    for j, spelling in enumerate(spellings):
        holes = ~observed[:, j]
        filled[holes, j] = spelling.add(written[observed[:, j], j]).spell(filled[holes, j])
    cells = np.where(observed, written, filled)
    return pd.DataFrame(cells, index=typed.index, columns=list(header))


def keeps_index(df: pd.DataFrame) -> bool:
    """Whether a written table stores ``df``'s index: one that names rows (ids,
    labels, a Parquet file's stored index, a named range or one that does not
    start at 0), not the row numbers 0, 1, ... of an unnamed RangeIndex."""
    index = df.index
    if not isinstance(index, pd.RangeIndex):
        return True
    return index.name is not None or (len(index) > 0 and (index.start, index.step) != (0, 1))


def write_table(df: pd.DataFrame, path, *, force: bool = False, dialect=PLAIN, types=None) -> Path:
    """Write ``df`` to CSV (in ``dialect``; ``types``: see :func:`csv_text`) or
    Parquet: whole or not at all, never over a file unless ``force``."""
    path = Path(path)
    check_output(path, "table", force=force)
    if FORMATS[path.suffix.lower()] == "csv":
        frame, args = csv_text(df, dialect, types)
        atomic_write(path, lambda tmp: frame.to_csv(tmp, **args, encoding=dialect.text_encoding))
    else:  # in the types of a Parquet input: its dates and decimals as it wrote them
        table = as_input_types(pa.Table.from_pandas(df, preserve_index=keeps_index(df)), types)
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return path


# ------------------------------------------------------------------ tables or images
def _is_idx_name(path: Path) -> bool:
    name = path.name.lower()
    return "idx" in name or "ubyte" in name


def _image_kind(path: Path) -> str | None:
    """ "npy", "idx" or "png" for a path that names images, None for a table."""
    if path.suffix.lower() in FORMATS or _compressed_table(path):
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


def read_data(path, *, missing: bool = True, dialect: Dialect | None = None):
    """A table as a DataFrame (CSV, Parquet) or images as an array (see
    :func:`aekit.data.images.load_images`; ``.npy`` arrays as stored, except
    uint8 images, (n, H, W) or (n, C, H, W), divided by 255 as an IDX file's).

    With ``missing``, NaN pixels (and fully transparent PNG pixels) are kept as
    missing values; an ``.npy`` file must hold numbers (no pickled objects). A
    CSV file is read in ``dialect``, else the one its first lines tell.
    """
    path = Path(path)
    kind = _image_kind(path)
    if kind is None:
        return read_table(path, dialect)
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
    if array.dtype == np.uint8 and array.ndim > 2:  # 8-bit images
        return array.astype(np.float32) / np.float32(255)
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
        raise AekitError(
            f"output {path}: images are not a table; write them as .npy, an IDX name or "
            "a folder (a path without a suffix) of PNG files"
        )
    if kind == "table" and found != "table":
        raise AekitError(f"output {path}: a table is written as .csv or .parquet")
    if path.exists() and not force:
        raise AekitError(f"output {path} exists; pass --force to overwrite it")
    if found not in ("png", "") and path.is_dir():
        raise AekitError(f"output {path} is a folder; name a file to write")
    if found not in ("png", "") and not path.parent.is_dir():
        raise AekitError(f"output {path}: folder {path.parent} does not exist")
    return found


def _png_bits(folder) -> int:
    """16 when every PNG file of the folder is 16-bit grayscale (as scanners and
    microscopes write), else 8: the depth to write images read from it."""
    from PIL import Image

    modes = set()
    for file in png_files(folder):
        with Image.open(file) as image:
            modes.add(image.mode)
    return 16 if modes and modes <= {"I;16", "I;16B", "I"} else 8


def write_data(data, path, *, force: bool = False, dialect=PLAIN, like=None, types=None) -> Path:
    """Write a DataFrame as CSV or Parquet, or an array of images as ``.npy``,
    an IDX file (float32, or float64 kept; gzipped for a name ending in ``.gz``) or a folder of
    PNG files (a path without a suffix; ``like`` a folder of PNG files the
    images were read from: under its files' names and at its bit depth);
    whole or not at all. ``types``: the Arrow schema of a Parquet input
    (:func:`csv_text`)."""
    path = Path(path)
    if isinstance(data, pd.DataFrame):
        return write_table(data, path, force=force, dialect=dialect, types=types)
    data = np.asarray(data)
    kind = check_output(path, "images" if data.ndim > 2 else "table", force=force)
    if kind == "table":
        return write_table(pd.DataFrame(data), path, force=force)
    if kind == "png":
        if like is None:
            return save_png_folder(data, path, force=force)
        names = [p.name for p in png_files(like)]
        return save_png_folder(data, path, force=force, names=names, bits=_png_bits(like))
    if kind == "idx":
        keep = data.dtype == np.float64  # float64 stays (e.g. read from such a file)
        return write_idx(path, data if keep else data.astype(np.float32), force=force)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # np.save would add ".npy" to a temporary name
            np.save(f, data, allow_pickle=False)

    atomic_write(path, save)
    return path
