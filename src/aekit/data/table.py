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
  processes by :func:`shard`, and ``close()`` (they are a context manager):
  tensors held in memory; a file's chunks read and encoded on the first pass,
  kept on disk as they go and read back by memory map on every later pass
  (:class:`StreamedRows`);
- ``map(fn)``: the table seen through ``fn(chunk_number, chunk)`` (for
  instance, cells hidden for over-imputation);
- ``chunks()``: its rows as DataFrames, and ``fingerprint()``, what identifies
  its contents for a checkpoint.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import AekitError, warn
from .cells import entirely_missing, name_of
from .files import FORMATS, PLAIN
from .scan import Summary, scan, warn_one_value
from .schema import as_frame, image_schema, image_shape_of, infer_schema
from .stream import DEFAULT_CHUNK_ROWS, Mapped, TableFile, draws
from .tabular import TabularEncoder

VALIDATION = 0x76616C  # the purpose of the draws that pick a model's validation rows
CACHE = True  # whether StreamedRows keeps its first pass on disk (False: read the file every pass)


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


def shard(rows, rank: int, size: int):
    """Rows ``rank::size`` of a chunk (a DataFrame or a tensor), cut to
    ``len(rows) // size`` so that every process gets as many (and takes as many
    steps): under torchrun each process trains on its own shard."""
    if size == 1:
        return rows
    if isinstance(rows, pd.DataFrame):
        return rows.iloc[rank::size].iloc[: len(rows) // size]
    return rows[rank::size][: len(rows) // size]


class TensorRows:
    """Encoded rows held in memory, on the training device: one chunk.

    x : Tensor of shape (n, width); mask : Tensor of shape (n, n_columns), bool.
    """

    def __init__(self, x: torch.Tensor, mask: torch.Tensor):
        self.x, self.mask = x, mask

    @property
    def device(self) -> torch.device:
        return self.x.device

    def __len__(self) -> int:
        return len(self.x)

    def chunks(self, rank: int = 0, size: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield shard(self.x, rank, size), shard(self.mask, rank, size)

    def close(self) -> None:
        """Nothing to release (as :meth:`StreamedRows.close`, for callers of both)."""

    def __enter__(self) -> TensorRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def encoded(encoder: TabularEncoder, frame: pd.DataFrame, device, name: str = "X") -> TensorRows:
    """``frame`` encoded, as tensors on ``device``."""
    x, mask = encoder.encode(frame, name=name)
    return TensorRows(torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device))


class StreamedRows:
    """The rows of a file, read and encoded chunk by chunk on the first pass and
    read back from disk on every later one; each process encodes only its own
    shard of a chunk.

    The first pass writes each encoded chunk (x float32 of shape (n, width),
    mask bool of shape (n, n_columns)) to a pair of ``.npy`` files in a private
    temporary directory; once a pass has ended, every later pass over the same
    shard yields the same chunks, in the same order, as memory maps of those
    files (zero copy on the CPU), and never touches the file. Memory holds one
    chunk at a time, as when reading the file.

    Parameters
    ----------
    source : TableFile or Mapped
        The file, perhaps seen through functions (hidden cells), read on the
        first pass.
    encoder : TabularEncoder
    device : torch.device
    cache : bool, optional
        Whether to keep the first pass on disk; by default the module's
        :data:`CACHE`. Only the shard of the first pass is kept: a pass over
        another ``(rank, size)`` reads the file. A pass that stops midway leaves
        no cache (the next pass reads the file again), and a cache that cannot
        be written (a full disk) is dropped with a warning: the rows are then
        read from the file on every pass.

    The cache is removed by :meth:`close` (or at the end of a ``with`` block),
    else when the object is garbage collected or the interpreter exits.
    """

    def __init__(self, source, encoder: TabularEncoder, device, *, cache: bool | None = None):
        self.source, self.encoder, self.device = source, encoder, device
        self.caching = CACHE if cache is None else cache
        self.key = None  # the (rank, size) whose pass the cache holds
        self.cached = None  # the files of a whole pass, [(x path, mask path)], once one ended
        self.directory, self.passes = None, 0
        self.remove = None  # removes the directory: on close, collection or exit

    def chunks(self, rank: int = 0, size: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The ``(x, mask)`` tensors of each chunk's shard ``rank`` of ``size``:
        from the cache once a pass over that shard has ended, else from the file."""
        if self.key is None:
            self.key = (rank, size)
        if self.cached is not None and self.key == (rank, size):
            for x_path, mask_path in self.cached:
                yield self._load(x_path), self._load(mask_path)
            return
        writing = self.caching and self.key == (rank, size)
        number, written, ended = self.passes, [], False  # each pass writes files of its own
        self.passes += 1
        try:
            for chunk in self.source.chunks():
                chunk = shard(chunk, rank, size)
                if not len(chunk):
                    continue
                x, mask = self.encoder.encode(chunk, name=str(self.source.path))
                if writing:
                    writing = self._write(x, mask, f"{number}-{len(written)}", written)
                yield torch.from_numpy(x).to(self.device), torch.from_numpy(mask).to(self.device)
            ended = True
        finally:
            if writing and ended and self.cached is None:
                self.cached = written  # a whole pass: later passes read these
            else:
                _unlink(written)  # a pass stopped midway, or not written: never trusted

    def _write(self, x: np.ndarray, mask: np.ndarray, name: str, written: list) -> bool:
        """Add one chunk to this pass's files (``written``); False (after a
        warning, once) when the disk refuses it, and caching stops."""
        if not self.caching:  # closed during the pass
            return False
        try:
            if self.directory is None:
                self.directory = tempfile.mkdtemp(prefix="aekit-rows-")
                self.remove = weakref.finalize(
                    self, shutil.rmtree, self.directory, ignore_errors=True
                )
            stem = os.path.join(self.directory, name)
            written.append((f"{stem}-x.npy", f"{stem}-mask.npy"))
            np.save(written[-1][0], x)
            np.save(written[-1][1], mask)
            return True
        except OSError as exc:
            warn(
                f"cannot keep the encoded rows of {self.source.path} on disk ({exc}); "
                "reading the file on every pass instead"
            )
            self.caching = False
            return False

    def _load(self, path: str) -> torch.Tensor:
        # copy-on-write: a writable view of the file, so torch.from_numpy takes it as it is
        return torch.from_numpy(np.load(path, mmap_mode="c")).to(self.device)

    def close(self) -> None:
        """Remove the cache; later passes read the file."""
        self.caching, self.cached = False, None
        if self.remove is not None:
            self.remove()

    def __enter__(self) -> StreamedRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _unlink(paths: list) -> None:
    for pair in paths:
        for path in pair:
            try:
                os.remove(path)
            except OSError:
                pass


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
            warn_one_value([c.name for c, k in zip(schema, counts, strict=True) if k < 2])
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
        if self.summary.empty:  # nothing to model it from (an imputer drops it first)
            raise entirely_missing(self.summary.empty[0], f" of {self.path}")
        return self.summary.encoder

    def split(self, share: float, seed: int, purpose: int = VALIDATION):
        """(held-out rows, the table of the others): the rows drawn below ``share``
        (:func:`~aekit.data.stream.draws`), at most one chunk of them: when more
        are drawn, those with the smallest draws (a uniform sample). The others
        keep this file's schema and statistics (no pass of their own)."""
        if share <= 0:
            return pd.DataFrame(columns=self.columns), self
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
        return held, rest

    def rows(self, encoder: TabularEncoder, device) -> StreamedRows:
        return StreamedRows(self.file, encoder, device)

    def fingerprint(self) -> list:
        return self.file.fingerprint()


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
