"""One table abstraction for every fit: a table in memory is a table of one chunk.

:func:`as_table` is the one place that tells a file to stream (a
:class:`~aekit.data.stream.TableFile`, or a path to a ``.csv`` or ``.parquet``
file) from data in memory (a DataFrame, an array, images). Both kinds of table
offer what a fit needs, and the fit never asks which it has:

- ``columns``, ``n_rows``, ``image_shape``, ``is_frame`` (outputs as DataFrames);
- ``fit_encoder(pixel_kind)``: the schema and scaling statistics (merged over
  the chunks of a file; one chunk in memory);
- ``split(share, seed, purpose)``: held-out rows (a DataFrame) and the table of
  the others; an exact share in memory, a uniform sample of at most one chunk
  for a file;
- ``rows(encoder, device)``: the encoded rows for training, whose
  ``chunks(rank, size)`` yields ``(x, mask)`` tensors, sharded across
  processes, and ``close()`` (they are a context manager): tensors held in
  memory; a file's chunks read and encoded on the first pass, kept on disk as
  they go and read back by memory map on every later pass (see
  :mod:`aekit.data.rows`);
- ``map(fn)``: the table seen through ``fn(chunk_number, chunk)`` (for
  instance, cells hidden for over-imputation);
- ``sharing()``: a block whose fits of the table (a model's candidates) share
  its passes: a file's split drawn once, its parts' rows encoded once;
- ``chunks()``: its rows as DataFrames, and ``fingerprint()``, what identifies
  its contents for a checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AekitError
from .cells import entirely_missing, name_of, warn_many_levels
from .files import FORMATS, PLAIN
from .rows import StreamedRows, TensorRows, encoded
from .scan import Summary, scan, warn_one_value
from .schema import as_frame, image_schema, image_shape_of, infer_schema
from .stream import DEFAULT_CHUNK_ROWS, Mapped, TableFile, draws
from .tabular import TabularEncoder

VALIDATION = 0x76616C  # the purpose of the draws that pick a model's validation rows
BINS = 0x62696E  # the purpose of the draws that pick the rows a file's bins are fitted on


def as_table(X, *, chunk_rows: int | None = None) -> FrameTable | FileTable:
    """``X`` as a table: a :class:`FileTable` for a TableFile or a path to a
    ``.csv``/``.parquet`` file (read ``chunk_rows`` rows at a time), else a
    :class:`FrameTable` of the data in memory; a table is returned as it is."""
    if isinstance(X, (FrameTable, FileTable)):
        return X
    if isinstance(X, (TableFile, Mapped)):
        return FileTable(X)
    if isinstance(X, (str, os.PathLike)) and Path(X).suffix.lower() in FORMATS:
        return FileTable(TableFile(X, DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows))
    frame, is_frame = as_frame(X)
    floats = not is_frame and all(d.kind == "f" for d in frame.dtypes)
    return FrameTable(frame, is_frame=is_frame, image_shape=image_shape_of(X), float_array=floats)


class FrameTable:
    """A table in memory (a DataFrame; images flattened to one column per pixel).

    Parameters
    ----------
    frame : DataFrame
        Used as it is, never modified.
    is_frame : bool
        Whether the user gave a DataFrame (outputs are then DataFrames).
    image_shape : tuple, optional
        The shape of one image, (H, W) or (C, H, W), when the rows are images.
    float_array : bool, default=False
        The user gave a NumPy array of floats: its columns are continuous
        whatever values they hold (they stay so when cells are hidden).
    schema_rows : DataFrame, optional
        The whole table this is a part of (:meth:`split`): the schema's source,
        so that a model of the part knows every level of the whole.
    """

    path = None
    in_memory = True
    dialect = PLAIN

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        is_frame: bool,
        image_shape=None,
        float_array=False,
        schema_rows: pd.DataFrame | None = None,
    ):
        self.frame, self.is_frame, self.image_shape = frame, is_frame, image_shape
        self.float_array, self.schema_rows = float_array, schema_rows

    @property
    def name(self) -> str:
        """What messages call the table: the file aekit read it from, else "X"."""
        return name_of(self.frame)

    @property
    def columns(self) -> pd.Index:
        return self.frame.columns

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def chunks(self) -> Iterator[pd.DataFrame]:
        yield self.frame

    def with_frame(self, frame: pd.DataFrame) -> FrameTable:
        shape, floats = self.image_shape, self.float_array
        return FrameTable(frame, is_frame=self.is_frame, image_shape=shape, float_array=floats)

    def map(self, fn: Callable[[int, pd.DataFrame], pd.DataFrame]) -> FrameTable:
        return self.with_frame(fn(0, self.frame))

    def fit_encoder(self, pixel_kind: str) -> TabularEncoder:
        """Schema (of ``schema_rows`` for a part) and statistics of the table (of
        ``schema_rows`` too for a part that never observes a column of it);
        pixels are columns of ``pixel_kind`` ("unit" or "continuous")."""
        frame = self.frame
        whole = self.schema_rows if self.schema_rows is not None else frame
        if self.image_shape is not None:
            schema = image_schema(whole, pixel_kind)
        else:
            schema = infer_schema(whole, array=self.float_array)
        if whole is not frame and (frame.notna().any() < whole.notna().any()).any():
            frame = whole  # a column the part never observes: the whole's statistics
        encoder = TabularEncoder.fit(frame, schema)
        if len(whole) > 1 and self.is_frame:  # arrays (pixels always 0, ...): quietly
            counts = whole.nunique(dropna=True).to_numpy()  # a part's rows: the table's
            one = [c.name for c, k in zip(schema, counts, strict=True) if k < 2]
            warn_one_value(one, self.name)
        return encoder

    def split(self, share: float, seed: int, purpose: int = VALIDATION):
        """(held-out rows, the others with this table's schema): ``round(n * share)``
        rows by a permutation seeded by (seed, purpose), both kept in row order."""
        if share <= 0:
            return self.frame.iloc[:0], self
        order = np.random.default_rng([seed, purpose]).permutation(len(self.frame))
        k = min(len(self.frame), round(len(self.frame) * share))
        part = self.with_frame(self.frame.iloc[np.sort(order[k:])])
        part.schema_rows = self.frame if self.schema_rows is None else self.schema_rows
        return self.frame.iloc[np.sort(order[:k])], part

    def rows(self, encoder: TabularEncoder, device) -> TensorRows:
        return encoded(encoder, self.frame, device)

    @contextmanager
    def sharing(self):
        """Nothing to share in memory (as :meth:`FileTable.sharing`, for callers of both)."""
        yield

    def fingerprint(self) -> list:
        frame = self.frame
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return [hashed, [str(c) for c in frame.columns], [str(d) for d in frame.dtypes]]


class FileTable:
    """A table streamed from a file (a :class:`~aekit.data.stream.TableFile`,
    perhaps seen through functions): read chunk by chunk on every pass. The
    passes that settle a CSV file's column types and find its statistics
    (:func:`~aekit.data.scan.scan`) are made once each, when first needed."""

    is_frame = True  # a file has named columns: outputs are DataFrames
    image_shape = None
    in_memory = False

    def __init__(self, source: TableFile | Mapped, n_rows: int | None = None):
        self.source, self._n_rows = source, n_rows
        self.kept: dict | None = None  # in a sharing() block: its splits and rows
        self.said = False  # whether fit_encoder has warned about its columns' levels

    @property
    def name(self) -> str:
        return str(self.source.path)

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def dialect(self):
        """How the CSV file writes its fields (a Parquet file: the default)."""
        return self.source.dialect

    @cached_property
    def file(self) -> TableFile | Mapped:
        return self.source.settled()

    @cached_property
    def summary(self) -> Summary:
        return scan(self.file)

    @property
    def columns(self) -> list:
        return self.summary.columns

    @property
    def n_rows(self) -> int:
        return self.summary.n_rows if self._n_rows is None else self._n_rows

    def chunks(self, *, stored_index: bool = False) -> Iterator[pd.DataFrame]:
        """The file's chunks (see :meth:`aekit.data.stream.TableFile.chunks`)."""
        return self.file.chunks(stored_index=stored_index)

    def map(self, fn: Callable[[int, pd.DataFrame], pd.DataFrame]) -> FileTable:
        return FileTable(self.file.map(fn))

    def fit_encoder(self, pixel_kind: str) -> TabularEncoder:
        """The file's encoder, and (once) the warnings that name its columns of
        identifiers, names or free text, which it models as categories."""
        if self.summary.empty:  # nothing to model it from (an imputer drops it first)
            raise entirely_missing(self.summary.empty[0], f" of {self.path}")
        if not self.said:
            self.said = True
            for name, levels in self.summary.many:
                left_out = name in self.summary.identifiers
                warn_many_levels(f"column {name!r} of {self.path}", levels, left_out)
        return self.summary.encoder

    def split(self, share: float, seed: int, purpose: int = VALIDATION):
        """(held-out rows, the table of the others): the rows drawn below ``share``
        (:func:`~aekit.data.stream.draws`), at most one chunk of them: when more
        are drawn, those with the smallest draws (a uniform sample). The others
        keep this file's schema and statistics (no pass of their own)."""
        if share <= 0:
            return pd.DataFrame(columns=self.columns), self
        key = ("split", share, seed, purpose)
        if self.kept is not None and key in self.kept:  # drawn before in this block
            return self.kept[key]
        sample = _Sample(share, self.file.chunk_rows, seed, purpose)
        n_rows = 0
        for i, chunk in enumerate(self.file.chunks()):
            sample.add(i, chunk)
            n_rows += len(chunk)
        if n_rows == 0:
            raise AekitError(f"input {self.name} holds no rows")
        held, threshold = sample.result()
        rest = FileTable(self.file.map(_rows_above(seed, purpose, threshold)), n_rows - len(held))
        rest.summary = self.summary  # the whole file's schema and statistics: every level
        if self.kept is not None:
            rest.kept = self.kept  # its rows are shared too, till the block ends
            self.kept[key] = held, rest
        return held, rest

    def rows(self, encoder: TabularEncoder, device) -> StreamedRows:
        """The file's rows encoded by ``encoder``; in a :meth:`sharing` block, the
        same rows (and cache) for every fit that asks with the same encoder."""
        if self.kept is None:
            return StreamedRows(self.file, encoder, device)
        key = ("rows", id(self), id(encoder), str(device))
        if key not in self.kept:  # the table and encoder kept alive with it: ids stay unique
            rows = StreamedRows(self.file, encoder, device, shared=True)
            self.kept[key] = (self, encoder, rows)
        return self.kept[key][2]

    @contextmanager
    def sharing(self):
        """A block in which fits of this table (a model's candidates) share its
        passes: a split asked again gives the rows it drew (no pass), and a part's
        training rows, read and encoded by the first fit, are read back from its
        cache by the others (dealt across the file from their first epoch on);
        the caches are removed when the block ends. Blocks nest: the outermost
        one ends the sharing."""
        outer = self.kept is None
        if outer:
            self.kept = {}
        try:
            yield
        finally:
            if outer:
                kept, self.kept = self.kept, None
                for key, value in kept.items():
                    if key[0] == "rows":
                        value[2].close()
                    else:  # a split's part: it shares no more
                        value[1].kept = None

    def fingerprint(self) -> list:
        return self.file.fingerprint()


def sample_rows(source, cap: int, seed: int, purpose: int) -> pd.DataFrame:
    """A uniform sample of at most ``cap`` rows of ``source`` (an object whose
    ``chunks()`` yields DataFrames: a file), in its order: those with the
    smallest draws (:func:`~aekit.data.stream.draws`), one pass, memory for at
    most twice ``cap`` rows. A file sorted by some column is sampled across
    its whole range, where its first rows would cover one end of it."""
    sample = _Sample(1.0, cap, seed, purpose)
    for i, chunk in enumerate(source.chunks()):
        sample.add(i, chunk)
    return sample.result()[0]


class _Sample:
    """A uniform sample of a share of the rows, at most ``cap`` of them, gathered
    chunk by chunk: the rows drawn below ``share`` with the ``cap`` smallest draws."""

    def __init__(self, share: float, cap: int, seed: int, purpose: int):
        self.share, self.cap, self.seed, self.purpose = share, cap, seed, purpose
        self.rows, self.u, self.drawn, self.columns = [], [], 0, None

    def add(self, i: int, chunk: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = chunk.columns
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

    def result(self) -> tuple[pd.DataFrame, float]:
        """(the sampled rows in file order, the threshold): a row is in the sample
        when its draw is below the threshold."""
        if not self.rows:
            return pd.DataFrame(columns=self.columns), 0.0
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
