"""Tables larger than memory: a CSV or Parquet file read in chunks of rows.

A :class:`TableFile` is read afresh on every pass, one chunk at a time
(pandas' chunked CSV reader; pyarrow's Parquet batches), so that memory holds
one chunk, never the file. Fitting on one (``model.fit(TableFile(path))``, or a
path) takes

0. for a CSV file, a pass that settles the column types (:meth:`TableFile.settled`:
   a column with numbers in some chunks and text in others is read as text,
   as pandas types it when it reads the whole file);
1. a first pass, :func:`scan`: the schema and the scaling statistics, merged
   over the chunks exactly as :func:`~aekit.data.schema.infer_schema` and
   :meth:`~aekit.data.tabular.TabularEncoder.fit` would find them on the whole
   table, and a uniform sample of held-out rows (at most one chunk's worth),
   kept in memory for validation;
2. one pass per epoch, each chunk encoded, its rows shuffled and cut into
   batches (rows are shuffled within a chunk: shuffle a file sorted by some
   column once before streaming it).

Which rows are held out, and any other per-row draw, comes from
:func:`draws`: a generator seeded by (seed, purpose, chunk number), so every
pass over the same file and chunk size makes the same choices without keeping
any row index in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AekitError
from .schema import _MISSING_MARKERS, Column, _infer_column
from .tabular import TabularEncoder

DEFAULT_CHUNK_ROWS = 65536
_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class TableFile:
    """A CSV or Parquet file, read ``chunk_rows`` rows at a time.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (empty cells are missing) or ``.parquet`` file.
    chunk_rows : int, default=65536
        Rows per chunk: what memory holds at once (with the encoded chunk and
        at most this many held-out rows).

    Examples
    --------
    >>> import aekit
    >>> data = aekit.TableFile("big.parquet", chunk_rows=100_000)  # doctest: +SKIP
    >>> imputer = aekit.Imputer().fit(data)  # doctest: +SKIP
    >>> imputer.transform_file(data, "big-imputed.parquet")  # doctest: +SKIP
    """

    def __init__(self, path, chunk_rows: int = DEFAULT_CHUNK_ROWS, *, text_columns=()):
        self.text_columns = tuple(text_columns)  # CSV columns read as text throughout
        self._settled = False  # whether settled() has looked at this file's types
        self.path = Path(path)
        self.format = _FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise AekitError(
                f"input {self.path}: a table to stream must be .csv or .parquet; "
                f"got {self.path.suffix!r}"
            )
        if not self.path.is_file():
            raise AekitError(f"input {self.path}: no such file")
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)):
            raise AekitError(f"chunk_rows must be an integer >= 1; got {chunk_rows!r}")
        if chunk_rows < 1:
            raise AekitError(f"chunk_rows must be an integer >= 1; got {chunk_rows!r}")
        self.chunk_rows = int(chunk_rows)

    def __repr__(self) -> str:
        return f"TableFile({str(self.path)!r}, chunk_rows={self.chunk_rows})"

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The file's rows, chunk by chunk; each chunk's index numbers its rows
        in the file (0, 1, ... over the whole file)."""
        offset = 0
        for chunk in self._read():
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            yield chunk

    def _read(self) -> Iterator[pd.DataFrame]:
        from .files import reading

        with reading(self.path):
            if self.format == "csv":
                dtype = dict.fromkeys(self.text_columns, str) or None
                with pd.read_csv(self.path, chunksize=self.chunk_rows, dtype=dtype) as reader:
                    yield from reader
            else:
                import pyarrow.parquet as pq

                with pq.ParquetFile(self.path) as f:
                    for batch in f.iter_batches(batch_size=self.chunk_rows):
                        yield batch.to_pandas()

    def fingerprint(self) -> list:
        """What identifies this file's contents for a checkpoint: path, size,
        modification time, and the chunking (which fixes every per-row draw)."""
        stat = self.path.stat()
        return [str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, self.chunk_rows]

    def settled(self) -> TableFile:
        """This file, with the CSV columns that hold text in some chunks and numbers
        in others read as text throughout, as reading the whole file would type
        them (one pass over a CSV file; a Parquet file's types are fixed)."""
        if self.format != "csv" or self._settled:
            return self
        text, numbers = set(), set()
        for chunk in self.chunks():
            for name in chunk.columns:
                s = chunk[name].dropna()
                if not len(s) or pd.api.types.is_bool_dtype(s.dtype):
                    continue
                (numbers if pd.api.types.is_numeric_dtype(s.dtype) else text).add(name)
        both = [name for name in text if name in numbers]
        out = TableFile(self.path, self.chunk_rows, text_columns=both) if both else self
        out._settled = True
        return out

    def map(self, fn: Callable[[int, pd.DataFrame], pd.DataFrame]) -> Mapped:
        """The same file seen through ``fn(chunk_number, chunk)`` on every pass
        (for instance, cells hidden for over-imputation)."""
        return Mapped(self, [fn])


@dataclass
class Mapped:
    """A :class:`TableFile` whose chunks pass through functions on every read."""

    file: TableFile
    fns: list = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def chunk_rows(self) -> int:
        return self.file.chunk_rows

    def chunks(self) -> Iterator[pd.DataFrame]:
        for i, chunk in enumerate(self.file.chunks()):
            for fn in self.fns:
                chunk = fn(i, chunk)
            yield chunk

    def fingerprint(self) -> list:
        return self.file.fingerprint()

    def settled(self) -> Mapped:
        return Mapped(self.file.settled(), self.fns)

    def map(self, fn) -> Mapped:
        return Mapped(self.file, [*self.fns, fn])


def draws(seed: int, purpose: int, chunk: int, shape) -> np.ndarray:
    """Uniform numbers in [0, 1) for the rows (or cells) of one chunk, the same on
    every pass: seeded by (seed, purpose, chunk number)."""
    return np.random.default_rng([seed, purpose, chunk]).random(shape)


HOLDOUT = 0x76616C  # the purpose of the draws that pick held-out rows


# ------------------------------------------------------------------ first pass
@dataclass
class _Numbers:
    """Running statistics of a numeric column: count, mean, sum of squared
    deviations (merged chunk by chunk, Chan et al.'s formula), 0/1 counts."""

    dtype: str
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    zeros: int = 0
    ones: int = 0
    only01: bool = True
    low: float = np.inf
    high: float = -np.inf
    missing: bool = False

    def add(self, values: np.ndarray) -> None:
        seen = ~np.isnan(values)
        self.missing |= not seen.all()
        values = values[seen]
        n = len(values)
        if not n:
            return
        self.low, self.high = min(self.low, values.min()), max(self.high, values.max())
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total
        zeros, ones = int((values == 0).sum()), int((values == 1).sum())
        self.zeros += zeros
        self.ones += ones
        self.only01 &= zeros + ones == n


@dataclass
class _Levels:
    """Counts of the levels of a categorical column, in order of first sight."""

    dtype: str
    counts: dict = field(default_factory=dict)
    categories: tuple | None = None  # a pandas category's own levels
    ordered: bool = False

    def add(self, s: pd.Series) -> None:
        for level, k in s.value_counts(dropna=True, sort=False).items():
            self.counts[level] = self.counts.get(level, 0) + int(k)


@dataclass
class Scan:
    """What the first pass over a file found.

    encoder : TabularEncoder
        Schema and statistics of every row (as the in-memory fit takes them
        from the whole table before it splits off validation rows).
    n_rows : int
        Rows in the file.
    n_train : int
        Rows not held out.
    held_out : DataFrame
        The held-out rows (a uniform sample, in file order), at most ``cap``.
    threshold : float
        A row is held out when its draw is below it (see :func:`draws`).
    """

    encoder: TabularEncoder
    n_rows: int
    n_train: int
    held_out: pd.DataFrame
    threshold: float

    bounds: tuple = ()  # (low, high): each encoded dimension's extremes, filled cells included

    def training(self, seed: int) -> Callable[[int, pd.DataFrame], pd.DataFrame]:
        """The chunk function that keeps the rows that were not held out."""
        return _rows_above(seed, HOLDOUT, self.threshold)


class _Sample:
    """A uniform sample of a share of the rows, at most ``cap`` of them, gathered
    chunk by chunk: the rows drawn below ``share`` with the ``cap`` smallest draws."""

    def __init__(self, share: float, cap: int, seed: int, purpose: int):
        self.share, self.cap, self.seed, self.purpose = share, cap, seed, purpose
        self.rows, self.u, self.drawn = [], [], 0

    def add(self, i: int, chunk: pd.DataFrame) -> None:
        if self.share <= 0:
            return
        u = draws(self.seed, self.purpose, i, len(chunk))
        out = u < self.share
        self.rows.append(chunk[out])
        self.u.append(u[out])
        self.drawn += int(out.sum())
        if sum(len(r) for r in self.rows) > 2 * self.cap:  # the cap smallest draws so far
            self._trim()

    def _trim(self) -> None:
        frame, u = pd.concat(self.rows), np.concatenate(self.u)
        order = np.argsort(u, kind="stable")[: self.cap]
        self.rows, self.u = [frame.iloc[order]], [u[order]]

    def result(self, names) -> tuple[pd.DataFrame, float]:
        """(the sampled rows in file order, the threshold): a row is in the sample
        when its draw is below the threshold."""
        if self.share <= 0 or not self.rows:
            return pd.DataFrame(columns=names), 0.0
        self._trim()
        u = self.u[0]
        threshold = float(np.nextafter(u.max(), 1.0)) if self.drawn > self.cap else self.share
        return self.rows[0].sort_index(), threshold


def _rows_above(seed: int, purpose: int, threshold: float):
    """The chunk function that keeps the rows drawn at or above ``threshold``."""

    def keep(i: int, chunk: pd.DataFrame) -> pd.DataFrame:
        if threshold <= 0:
            return chunk
        return chunk[draws(seed, purpose, i, len(chunk)) >= threshold]

    return keep


def scan(source, *, holdout: float, cap: int, seed: int) -> Scan:
    """The first pass: schema, statistics, row counts and held-out rows.

    The schema and statistics come from every row, as the in-memory fit takes
    them from the whole table before it splits off validation rows. A share
    ``holdout`` of the rows is held out, drawn with ``seed``; when that is more
    than ``cap`` rows, the ``cap`` rows with the smallest draws (a uniform
    sample) are held out and the rest are trained on.
    """
    stats: dict = {}
    names: list | None = None
    n_rows = 0
    sample = _Sample(holdout, cap, seed, HOLDOUT)
    for i, chunk in enumerate(source.chunks()):
        if names is None:
            names = list(chunk.columns)
            dupes = chunk.columns[chunk.columns.duplicated()].unique().tolist()
            if dupes:
                raise AekitError(f"input {source.path} has duplicate column names: {dupes}")
        elif list(chunk.columns) != names:
            raise AekitError(f"input {source.path}: the columns change at row {n_rows}")
        sample.add(i, chunk)
        for name in names:
            _add(stats, name, chunk[name], source.path, n_rows)
        n_rows += len(chunk)
    if names is None or n_rows == 0:
        raise AekitError(f"input {source.path} holds no rows")
    if not names:
        raise AekitError(f"input {source.path} has no columns")
    held, threshold = sample.result(names)
    encoder, bounds = _encoder(stats, names, source.path)
    return Scan(encoder, n_rows, n_rows - len(held), held, threshold, bounds)


def _add(stats: dict, name, s: pd.Series, path, first_row: int) -> None:
    observed = s.dropna()
    if not len(observed):
        return
    col = _infer_column(name, s, None)
    numeric = col.kind in ("continuous", "binary") and col.dtype not in ("bool", "boolean")
    kind = "number" if numeric else col.kind
    entry = stats.get(name)
    if entry is None:
        entry = stats[name] = (kind, _Numbers(col.dtype) if numeric else _Levels(col.dtype))
    elif entry[0] != kind:
        raise AekitError(
            f"column {name!r} of {path} holds {_what(kind)} from row {first_row} on, "
            f"{_what(entry[0])} before; make it one type throughout"
        )
    acc = entry[1]
    if acc.dtype != col.dtype:  # what the whole column would read as
        acc.dtype = {"number": "float64", "binary": "boolean"}.get(kind, "object")
    if numeric:
        acc.add(pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan))
    elif kind == "categorical":
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = tuple(s.dtype.categories.tolist())
            acc.categories = levels if acc.categories is None else _union(acc.categories, levels)
            acc.ordered = bool(s.dtype.ordered)
            acc.dtype = "category"
        acc.add(observed)
    else:  # booleans
        acc.add(observed.astype(bool))


def _what(kind: str) -> str:
    return {"number": "numbers", "categorical": "text", "binary": "booleans"}[kind]


def _union(a: tuple, b: tuple) -> tuple:
    return a + tuple(v for v in b if v not in set(a))


def _encoder(stats: dict, names: list, path) -> tuple[TabularEncoder, tuple]:
    """The encoder the statistics describe, and the extremes of each encoded
    dimension (what the encoded table's column minima and maxima would be)."""
    schema, center, scale, fill, low, high = [], [], [], [], [], []
    for name in names:
        if name not in stats:
            raise AekitError(
                f"column {name!r} of {path} is entirely missing (every value is NaN); drop it"
            )
        kind, acc = stats[name]
        if kind == "number":
            if acc.only01 and acc.zeros and acc.ones:
                schema.append(Column(name, "binary", acc.dtype, (0, 1)))
                fill.append([acc.ones / acc.count])
                low.append([0.0])
                high.append([1.0])
            else:
                schema.append(Column(name, "continuous", acc.dtype))
                std = float(np.sqrt(acc.m2 / acc.count))
                center.append(acc.mean)
                scale.append(std if std > 0 else 1.0)
                fill.append([0.0])
                lo, hi = ((v - acc.mean) / scale[-1] for v in (acc.low, acc.high))
                low.append([min(lo, 0.0) if acc.missing else lo])
                high.append([max(hi, 0.0) if acc.missing else hi])
        elif kind == "binary":
            schema.append(Column(name, "binary", acc.dtype, (False, True)))
            total = sum(acc.counts.values())
            fill.append([acc.counts.get(True, 0) / total])
            low.append([0.0 if acc.counts.get(False) else 1.0])
            high.append([1.0 if acc.counts.get(True) else 0.0])
        else:
            if acc.categories is not None:
                levels = acc.categories
            else:
                _refuse_stray_text(name, acc.counts, path)
                levels = list(acc.counts)
                try:
                    levels = sorted(levels)
                except TypeError:
                    pass
            levels = tuple(levels)
            schema.append(Column(name, "categorical", acc.dtype, levels, acc.ordered))
            counts = np.array([acc.counts.get(v, 0) for v in levels], dtype=np.float64)
            freq = counts / counts.sum()
            fill.append(freq)
            # a level's dimension is 1 in its rows, 0 in the others', its frequency
            # where the cell is missing
            low.append(np.where(counts < counts.sum(), 0.0, freq))
            high.append(np.where(counts > 0, 1.0, freq))
    fill = np.concatenate(fill).astype(np.float64)
    encoder = TabularEncoder(schema, np.asarray(center), np.asarray(scale), fill)
    return encoder, (np.concatenate(low), np.concatenate(high))


def _refuse_stray_text(name, counts: dict, path) -> None:
    """The whole-column check of :func:`aekit.data.schema._refuse_stray_text` on a
    streamed text column's level counts: numbers but for a few missing-value
    markers ("n/a", "?") is a numeric column read as text, not categories."""
    numeric = pd.to_numeric(pd.Series(list(counts), dtype=object), errors="coerce").notna()
    values = np.array(list(counts.values()))
    total, numbers = values.sum(), values[numeric.to_numpy()].sum()
    stray = [v for v, ok in zip(counts, numeric, strict=True) if not ok]
    if not stray or numbers < 0.9 * total:
        return
    if not all(isinstance(v, str) and _MISSING_MARKERS.match(v) for v in stray):
        return
    examples = ", ".join(repr(v) for v in stray[:3])
    raise AekitError(
        f"column {name!r} of {path} holds numbers but {total - numbers} cell(s) of text "
        f"({examples}); make those cells empty, or write the column as a category in a "
        "Parquet file to model it as categories"
    )


def is_table_path(X) -> bool:
    """Whether ``X`` names a table file to stream: a TableFile, a Path, or a string
    ending in .csv or .parquet."""
    if isinstance(X, (TableFile, Mapped)):
        return True
    if isinstance(X, (str, os.PathLike)):
        return Path(X).suffix.lower() in _FORMATS
    return False


def as_table_file(X, chunk_rows: int | None = None):
    """``X`` as a :class:`TableFile` (or the mapped one it is)."""
    if isinstance(X, (TableFile, Mapped)):
        return X.settled()
    return TableFile(X, DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows).settled()


def check_output(output, source=None, *, force: bool = False) -> Path:
    """Refuse an output table path that :func:`write_chunks` could not write."""
    path = Path(output)
    if _FORMATS.get(path.suffix.lower()) is None:
        raise AekitError(f"output {path}: a table is written as .csv or .parquet")
    if source is not None and path.resolve() == Path(source.path).resolve():
        raise AekitError("output must differ from input; aekit never overwrites its input")
    if path.exists() and not force:
        raise AekitError(f"output {path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise AekitError(f"output {path}: folder {path.parent} does not exist")
    return path


def write_chunks(frames: Iterator[pd.DataFrame], output, source=None, *, force: bool = False):
    """Write DataFrames one after another as one ``.csv`` or ``.parquet`` table:
    whole or not at all (into a temporary file renamed at the end), never over
    an existing file unless ``force``, never over the input ``source``."""
    from ..io import atomic_write

    path = check_output(output, source, force=force)
    fmt = _FORMATS[path.suffix.lower()]

    def write(tmp: Path) -> None:
        if fmt == "csv":
            wrote = False
            with open(tmp, "w", newline="") as f:
                for frame in frames:
                    frame.to_csv(f, index=False, header=not wrote)
                    wrote = True
            if not wrote:
                raise AekitError(f"no rows to write to {path}")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer, schema = None, None
        try:
            for frame in frames:
                table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise AekitError(f"no rows to write to {path}")

    atomic_write(path, write)
    return path


def sample_rows(source, share: float, cap: int, seed: int, purpose: int):
    """A uniform sample of a share of the rows (at most ``cap``), in one pass.

    Returns the sampled rows (in file order) and the chunk function that keeps
    the other rows (for :meth:`TableFile.map`), so that the sample can be held
    out of training.
    """
    sample, n_rows = _Sample(share, cap, seed, purpose), 0
    for i, chunk in enumerate(source.chunks()):
        sample.add(i, chunk)
        n_rows += len(chunk)
    if n_rows == 0:
        raise AekitError(f"input {source.path} holds no rows")
    held, threshold = sample.result(None)
    return held, _rows_above(seed, purpose, threshold)
