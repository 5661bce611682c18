"""Encoded rows for training: in memory (:class:`TensorRows`, one chunk), or a
file's, read and encoded on the first pass and read back by memory map on every
later one (:class:`StreamedRows`); :func:`shard` gives each process under
torchrun its own share of a chunk. The tables of :mod:`aekit.data.table` give
them (``rows(encoder, device)``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from ..errors import warn
from .stream import draws
from .tabular import TabularEncoder

CACHE = True  # whether StreamedRows keeps its first pass on disk (False: read the file every pass)
DEAL = 0x6465616C  # the purpose of the draws that deal a cached pass's rows out into parts


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


def encoded(encoder: TabularEncoder, frame: pd.DataFrame, device, name="X", **how) -> TensorRows:
    """``frame`` encoded (``how``: as :meth:`TabularEncoder.encode` takes it), as
    tensors on ``device``."""
    x, mask = encoder.encode(frame, name=name, **how)
    return TensorRows(torch.from_numpy(x).to(device), torch.from_numpy(mask).to(device))


class StreamedRows:
    """The rows of a file, read and encoded chunk by chunk on the first pass and
    read back from disk on every later one; each process encodes only its own
    shard of a chunk.

    The first pass writes each encoded chunk (x float32 of shape (n, width),
    mask bool of shape (n, n_columns)) to a pair of ``.npy`` files in a private
    temporary directory. Once it has ended, its rows are dealt out at random
    (:func:`~aekit.data.stream.draws`) into as many parts as it had chunks, each
    a pair of ``.npy`` files holding about a chunk's rows drawn from the whole
    file, and every later pass over the same shard yields those parts, the same
    in the same order, as memory maps (zero copy on the CPU), and never touches
    the file: a file sorted by some column gives batches of rows from across
    its range, not from one end of it at a time. Memory holds one chunk at a
    time, as when reading the file.

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

    shared : bool, default=False
        Rows shared by the fits of a :meth:`FileTable.sharing` block: the end of
        a ``with`` block leaves them open; the sharing block closes them.

    The cache is removed by :meth:`close` (or at the end of a ``with`` block),
    else when the object is garbage collected or the interpreter exits.
    """

    def __init__(
        self, source, encoder: TabularEncoder, device, *, cache: bool | None = None, shared=False
    ):
        self.source, self.encoder, self.device = source, encoder, device
        self.caching, self.shared = CACHE if cache is None else cache, shared
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
                self.cached = self._deal(written, f"{number}-part")  # later passes read these
            else:
                _unlink(written)  # a pass stopped midway, or not written: never trusted

    def _deal(self, written: list, name: str) -> list:
        """The rows of a whole pass's chunk files dealt out at random into as many
        parts, written as ``.npy`` files (each row to the part its draw names, in
        the order read), the chunk files removed; the chunk files as they are when
        the disk refuses the parts (with a warning)."""
        k = len(written)
        if k < 2:
            return written

        sizes = [len(np.load(x_path, mmap_mode="r")) for x_path, _ in written]

        def part(i: int) -> np.ndarray:  # the part of each row of chunk i (drawn again: no list)
            return (draws(0, DEAL, i, sizes[i]) * k).astype(np.int64)

        counts = sum(np.bincount(part(i), minlength=k) for i in range(k))
        stems = [os.path.join(self.directory, f"{name}{j}") for j in range(k)]
        dealt = {j: (f"{s}-x.npy", f"{s}-mask.npy") for j, s in enumerate(stems) if counts[j]}
        try:
            first_x, first_mask = (np.load(path, mmap_mode="r") for path in written[0])
            for j, (x_path, mask_path) in dealt.items():  # headers: each part's shape
                for path, like in ((x_path, first_x), (mask_path, first_mask)):
                    with open(path, "wb") as f:
                        header = {
                            "descr": np.lib.format.dtype_to_descr(like.dtype),
                            "fortran_order": False,
                            "shape": (int(counts[j]), like.shape[1]),
                        }
                        np.lib.format.write_array_header_1_0(f, header)
            for i, (x_path, mask_path) in enumerate(written):
                x, mask = np.load(x_path, mmap_mode="r"), np.load(mask_path, mmap_mode="r")
                drawn = part(i)
                for j in np.unique(drawn):
                    rows = drawn == j
                    for path, values in ((dealt[j][0], x), (dealt[j][1], mask)):
                        with open(path, "ab") as f:
                            f.write(np.ascontiguousarray(values[rows]).tobytes())
                del x, mask
        except OSError as exc:
            _unlink(dealt.values())
            warn(
                f"cannot deal the encoded rows of {self.source.path} out on disk ({exc}); "
                "every pass reads them in the file's order"
            )
            return written
        _unlink(written)
        return list(dealt.values())  # no empty part

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
        if not self.shared:
            self.close()


def _unlink(paths: list) -> None:
    for pair in paths:
        for path in pair:
            try:
                os.remove(path)
            except OSError:
                pass
