"""Tables larger than memory: a CSV or Parquet file read in chunks of rows.

A :class:`TableFile` is read afresh on every pass, one chunk at a time
(pandas' chunked CSV reader; pyarrow's Parquet batches), so that memory holds
one chunk, never the file. Fitting on one (``model.fit(TableFile(path))``, or a
path; see :mod:`aekit.data.table`) takes

0. for a CSV file, a pass that settles the column types (:meth:`TableFile.settled`:
   a column with numbers in some chunks and text in others is read as text,
   as pandas types it when it reads the whole file);
1. a first pass, :func:`aekit.data.scan.scan`: the schema and the scaling
   statistics, merged over the chunks exactly as the in-memory fit finds them
   on the whole table;
2. a pass that draws the held-out rows (a uniform sample of at most one chunk,
   kept in memory), when some are held out;
3. the first epoch's pass, each chunk encoded, its rows shuffled and cut into
   batches; the encoded chunks are cached on disk, their rows then dealt out at
   random into parts drawn from across the file, which later epochs read by
   memory map (:class:`aekit.data.rows.StreamedRows`): a file sorted by some
   column trains as a shuffled one from the second epoch on.

Which rows are held out, and any other per-row draw, comes from
:func:`draws`: a generator seeded by (seed, purpose, chunk number), so every
pass over the same file and chunk size makes the same choices without keeping
any row index in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import AekitError
from ..io import atomic_write
from .cells import (
    NULLABLE_INTEGERS,
    as_input_types,
    codes,
    dates_as_times,
    warn_codes,
    warn_row_numbers,
    whole_number_columns,
)
from .files import (
    FORMATS,
    PLAIN,
    as_written,
    beyond_float,
    cell_text,
    check_fields,
    check_header,
    check_output,
    csv_text,
    inspect_csv,
    keeps_index,
    parquet_types,
    reading,
)
from .markers import Markers
from .spelling import Spelling

DEFAULT_CHUNK_ROWS = 65536


class TableFile:
    """A CSV or Parquet file, read ``chunk_rows`` rows at a time.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (empty cells are missing) or ``.parquet`` file.
    chunk_rows : int, default=65536
        Rows per chunk: what memory holds at once (with the encoded chunk and
        at most this many held-out rows).

    dialect : aekit.data.files.Dialect, optional
        A CSV file's separator and decimal mark; by default told from its first
        lines (:func:`aekit.data.files.inspect_csv`). A header with a name twice
        is refused.

    Examples
    --------
    >>> import aekit
    >>> data = aekit.TableFile("big.parquet", chunk_rows=100_000)  # doctest: +SKIP
    >>> imputer = aekit.Imputer().fit(data)  # doctest: +SKIP
    >>> imputer.transform_file(data, "big-imputed.parquet")  # doctest: +SKIP
    """

    def __init__(
        self,
        path,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        *,
        dialect=None,
        text_columns=(),
        integer_columns=(),
        float_columns=(),
    ):
        self.text_columns = tuple(text_columns)  # CSV columns read as text throughout
        # CSV columns of whole numbers beyond 2**53, read as Int64 (floats would round them)
        self.integer_columns = tuple(integer_columns)
        self.float_columns = tuple(float_columns)  # CSV columns read as float64 throughout
        self._settled = False  # whether settled() has looked at this file's types
        self._settled_as: TableFile | None = None  # what settled() returned
        self.path = Path(path)
        self.format = FORMATS.get(self.path.suffix.lower())
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
        self.dialect = PLAIN
        with reading(self.path):
            if self.format == "csv":
                self.dialect, header = inspect_csv(self.path, dialect)
                self.header = header  # as written, for outputs that keep it
            else:
                header = pq.ParquetFile(self.path).schema_arrow.names
        check_header(self.path, header)

    def __repr__(self) -> str:
        return f"TableFile({str(self.path)!r}, chunk_rows={self.chunk_rows})"

    def chunks(self, *, stored_index: bool = False) -> Iterator[pd.DataFrame]:
        """The file's rows, chunk by chunk; each chunk's index numbers its rows
        in the file (0, 1, ... over the whole file), or with ``stored_index`` is
        the index a Parquet file stores (written from pandas with one) where it
        has one."""
        offset = 0
        start, step, name = self._stored_range() if stored_index else (0, 1, None)
        for chunk in self._read():
            if not stored_index or isinstance(chunk.index, pd.RangeIndex):
                first, stop = start + offset * step, start + (offset + len(chunk)) * step
                chunk.index = pd.RangeIndex(first, stop, step, name=name)
            offset += len(chunk)
            yield chunk

    def _stored_range(self) -> tuple[int, int, str | None]:
        """(start, step, name) of the RangeIndex a Parquet file written by pandas
        stores as metadata (ids 1000, 1001, ... named "visit_id"), else (0, 1, None)."""
        if self.format == "csv":
            return 0, 1, None
        with reading(self.path):
            meta = pq.ParquetFile(self.path).schema_arrow.pandas_metadata or {}
        ranges = [i for i in meta.get("index_columns", []) if isinstance(i, dict)]
        if len(ranges) != 1 or ranges[0].get("kind") != "range":
            return 0, 1, None
        index = ranges[0]
        return int(index.get("start", 0)), int(index.get("step", 1)), index.get("name")

    def _read(self) -> Iterator[pd.DataFrame]:
        with reading(self.path):
            if self.format == "csv":
                dtype = {
                    **dict.fromkeys(self.integer_columns, "Int64"),
                    **dict.fromkeys(self.float_columns, "float64"),
                    **dict.fromkeys(self.text_columns, str),
                } or None
                d = self.dialect
                with pd.read_csv(
                    self.path, chunksize=self.chunk_rows, dtype=dtype, **d.read_args()
                ) as reader:
                    for chunk in reader:
                        yield check_fields(self.path, chunk)
            else:
                with pq.ParquetFile(self.path) as f:
                    for batch in f.iter_batches(batch_size=self.chunk_rows):
                        # integers as pandas' nullable ones in every chunk: a chunk
                        # with holes would make floats of them (see holed_integers)
                        chunk = batch.to_pandas(types_mapper=NULLABLE_INTEGERS.get)
                        yield dates_as_times(chunk, f.schema_arrow)

    def as_written(self, completed: Iterator[tuple[pd.DataFrame, np.ndarray]]):
        """The chunks of this CSV file, completed, as CSV text whose observed
        cells read as the file wrote them (see :func:`aekit.data.files.as_written`);
        ``completed``: each chunk completed, in order, with its observed cells."""
        # imputed cells spelled like the observed cells of this chunk and those before
        spellings = [Spelling() for _ in self.header]
        with reading(self.path), cell_text(self.path, self.dialect, self.chunk_rows) as texts:
            for (frame, observed), text in zip(completed, texts, strict=True):
                yield as_written(frame, text, observed, self.header, self.dialect, spellings)

    def fingerprint(self) -> list:
        """What identifies this file's contents for a checkpoint: path, size,
        modification time, and the chunking (which fixes every per-row draw)."""
        stat = self.path.stat()
        return [str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, self.chunk_rows]

    def settled(self) -> TableFile:
        """This file, with the CSV columns that hold text in some chunks and numbers
        in others read as text throughout, as reading the whole file would type
        them, as well as those of whole numbers written with leading zeros (codes,
        see :func:`~aekit.data.cells.codes`), and those of whole numbers beyond
        2**53 as 64-bit integers (see :func:`~aekit.data.files.beyond_float`); one
        pass over a CSV file, a Parquet file's types are fixed."""
        if self.format != "csv" or self._settled:
            return self
        if self._settled_as is not None:  # one pass (and one warning) per file
            return self._settled_as
        text, numbers, flags, big, ints, floats = set(), set(), set(), set(), set(), set()
        coded: dict[str, str] = {}  # whole numbers written with leading zeros: codes
        marked = Markers()  # text cells pandas' markers made missing
        with cell_text(self.path, self.dialect, self.chunk_rows) as texts:
            for i, (chunk, written) in enumerate(zip(self.chunks(), texts, strict=True)):
                if i == 0:  # row numbers as a first column: told by the first chunk
                    warn_row_numbers(self.path, self.header, chunk.iloc[:, 0])
                for name in whole_number_columns(chunk):
                    if name not in coded and (example := codes(written[name])) is not None:
                        coded[name] = example
                if self.dialect.na is None:
                    marked.add(chunk, written)
                self._types(chunk, text, numbers, flags, big, ints, floats)
        for name, example in coded.items():
            warn_codes(f"column {name!r} of {self.path}", example)
        marked.warn(self.path)  # as reading the whole file warns
        text |= set(coded)
        both = [name for name in text if name in numbers or name in flags]
        whole = [name for name in big if name not in text]
        # whole numbers in some chunks, holes or fractions in others: floats throughout
        real = [name for name in ints & floats if name not in text and name not in big]
        out = (
            TableFile(
                self.path,
                self.chunk_rows,
                dialect=self.dialect,
                text_columns=both,
                integer_columns=whole,
                float_columns=real,
            )
            if both or whole or real
            else self
        )
        out._settled = True
        self._settled_as = out
        return out

    @staticmethod
    def _types(chunk: pd.DataFrame, text, numbers, flags, big, ints, floats) -> None:
        """Add the names of ``chunk``'s columns to the sets of those that hold text,
        numbers, flags (True/False), whole numbers beyond 2**53, integers, floats."""
        for name in chunk.columns:
            s = chunk[name].dropna()
            if not len(s):  # holes only: floats, as a column with holes reads whole
                if len(chunk) and pd.api.types.is_float_dtype(chunk[name].dtype):
                    floats.add(name)
                continue
            types = pd.api.types  # True/False (with holes: objects): text if others come
            if types.is_bool_dtype(s.dtype) or types.infer_dtype(s) == "boolean":
                flags.add(name)
                continue
            (numbers if pd.api.types.is_numeric_dtype(s.dtype) else text).add(name)
            if beyond_float(s) and s.abs().max() < 2**63:  # Int64 holds them
                big.add(name)
            if pd.api.types.is_integer_dtype(chunk[name].dtype):
                ints.add(name)
            elif pd.api.types.is_float_dtype(chunk[name].dtype):
                floats.add(name)

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

    @property
    def dialect(self):
        return self.file.dialect

    @property
    def format(self) -> str:
        return self.file.format

    def chunks(self, *, stored_index: bool = False) -> Iterator[pd.DataFrame]:
        for i, chunk in enumerate(self.file.chunks(stored_index=stored_index)):
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


def write_chunks(
    frames: Iterator[pd.DataFrame],
    output,
    *,
    inputs=(),
    force: bool = False,
    dialect=PLAIN,
    types: pa.Schema | None = None,
):
    """Write DataFrames one after another as one ``.csv`` (in ``dialect``, see
    :func:`aekit.data.files.csv_text`) or ``.parquet`` table: whole or not at all
    (into a temporary file renamed at the end), never over an existing file
    unless ``force``, never over one of the ``inputs``. ``types``: the Arrow
    schema of the Parquet file the frames come from (see :func:`wide_decimals`)."""
    path = Path(output)
    check_output(path, "table", force=force, inputs=inputs)
    fmt = FORMATS[path.suffix.lower()]

    def write(tmp: Path) -> None:
        if fmt == "csv":
            wrote, index = False, None
            with open(tmp, "w", newline="", encoding=dialect.text_encoding) as f:
                for frame in frames:
                    text, args = csv_text(frame, dialect, types)
                    # the first chunk tells whether the rows have ids (later ones number
                    # on from it: not a reason to write their numbers)
                    index = args["index"] if index is None else index
                    text.to_csv(f, header=not wrote, **{**args, "index": index})
                    wrote = True
            if not wrote:
                raise AekitError(f"no rows to write to {path}")
            return
        writer, schema, index = None, None, None
        try:
            for frame in frames:
                index = keeps_index(frame) if index is None else index
                try:
                    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=index)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # names the column
                    raise AekitError(
                        f"{path}: a chunk does not fit the Parquet types of the first ({exc}); "
                        "write a .csv file, or read the input in larger chunks"
                    ) from None
                if writer is None:  # the input's dates as dates, its decimals widened
                    table = as_input_types(table, types)
                    schema = wide_decimals(table.schema, types)
                    if schema != table.schema:  # a decimal column widened
                        table = table.cast(schema)
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise AekitError(f"no rows to write to {path}")

    atomic_write(path, write)
    return path


def arrow_types(file) -> pa.Schema | None:
    """The Arrow schema of a streamed Parquet file (a TableFile, mapped or
    not); None for a CSV file."""
    if getattr(file, "format", None) != "parquet":
        return None
    return parquet_types(file.path)


def wide_decimals(schema: pa.Schema, types: pa.Schema | None = None) -> pa.Schema:
    """``schema`` (a first chunk's) with every decimal column at the largest
    precision, and at the larger of its scale and the input's (``types``): a
    decimal's type is told by the values of the chunk it was read from, and a
    later chunk's larger numbers or more decimals would not fit it."""
    for i, column in enumerate(schema):
        if pa.types.is_decimal(column.type):
            scale = column.type.scale
            if types is not None and column.name in types.names:
                given = types.field(column.name).type
                scale = max(scale, given.scale) if pa.types.is_decimal(given) else scale
            schema = schema.set(i, column.with_type(pa.decimal128(38, scale)))
    return schema


def numpy_integers(file) -> dict[str, np.dtype]:
    """The integer columns of a streamed Parquet file (a TableFile, mapped or not)
    that reading it whole gives as NumPy integers, with their types: those that
    pandas' metadata declares so, or, without it, those with no empty cell in any
    row group (by the file's statistics). Chunks read every integer column as
    pandas' nullable type (a chunk with holes would make floats of it), and an
    output takes these back (:func:`as_read`); {} for a CSV file, whose settled
    chunks have the whole file's types."""
    if getattr(file, "format", None) != "parquet":
        return {}
    with reading(file.path), pq.ParquetFile(file.path) as f:
        arrow, meta = f.schema_arrow, f.metadata
    columns = (arrow.pandas_metadata or {}).get("columns", [])
    declared = {c.get("field_name"): c.get("numpy_type") for c in columns}
    position = {meta.schema.column(k).path: k for k in range(meta.num_columns)}
    out = {}
    for column in arrow:
        if column.type not in NULLABLE_INTEGERS or column.name not in position:
            continue
        dtype = np.dtype(column.type.to_pandas_dtype())
        if column.name in declared:  # written by pandas: int64 has no holes, Int64 may
            if declared[column.name] == dtype.name:
                out[column.name] = dtype
            continue
        k = position[column.name]
        stats = [meta.row_group(r).column(k).statistics for r in range(meta.num_row_groups)]
        # a row group without statistics may hold a hole: the column stays nullable
        if all(s is not None and s.has_null_count and s.null_count == 0 for s in stats):
            out[column.name] = dtype
    return out


def as_read(frame: pd.DataFrame, integers: dict) -> pd.DataFrame:
    """A completed chunk with the columns of ``integers`` (see
    :func:`numpy_integers`) as the NumPy integers they are in the whole file."""
    for name, dtype in integers.items():
        if name in frame.columns and not frame[name].isna().any():
            frame[name] = frame[name].astype(dtype)
    return frame
