"""A streamed file is read and encoded once: later passes read its encoded rows
back from a temporary cache, dealt out at random into as many parts as the file
had chunks, the same parts in the same order every pass."""

import gc
import os
import tempfile
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import aekit
from aekit import AekitWarning, TableFile
from aekit.data import rows as encoded_rows
from aekit.data import stream, table
from aekit.data.rows import StreamedRows, TensorRows, shard
from aekit.data.table import BINS, as_table, sample_rows

CPU = torch.device("cpu")


def mixed(n, seed=0):
    """Numbers, 0/1 and text, with holes."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "flag": rng.integers(0, 2, n),
            "town": rng.choice(["Lund", "Malmo", "Ystad"], n),
            "c": rng.normal(10, 3, n),
        }
    )
    df.loc[rng.random(n) < 0.15, "a"] = np.nan
    df.loc[rng.random(n) < 0.1, "town"] = None
    return df


def write(df, path):
    df.to_csv(path, index=False) if path.suffix == ".csv" else df.to_parquet(path, index=False)


@pytest.fixture(params=["csv", "parquet"])
def path(request, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # caches land here
    (tmp_path / "tmp").mkdir()
    out = tmp_path / f"data.{request.param}"
    write(mixed(250), out)
    return out


def rows_of(path, chunk_rows=60, **kwargs):
    """(the file's streamed rows, the encoder, the source read fresh)."""
    t = as_table(TableFile(path, chunk_rows))
    encoder = t.fit_encoder("continuous")
    return StreamedRows(t.file, encoder, CPU, **kwargs), encoder, t.file


def fresh(source, encoder, rank=0, size=1):
    """Every chunk read from the file and encoded now, as the rows did before caching."""
    out = []
    for chunk in source.chunks():
        x, mask = encoder.encode(shard(chunk, rank, size), name=str(source.path))
        if len(x):
            out.append((x, mask))
    return out


def same(passed, expected):
    assert len(passed) == len(expected)
    for (x, mask), (ex, emask) in zip(passed, expected, strict=True):
        assert x.dtype == torch.float32 and mask.dtype == torch.bool
        np.testing.assert_array_equal(x.numpy(), ex)
        np.testing.assert_array_equal(mask.numpy(), emask)


def dealt(passed, expected):
    """A pass from the cache: the rows of ``expected`` (the first pass's chunks),
    each once, in at most as many parts."""
    assert 1 <= len(passed) <= len(expected)

    def rows(pairs):
        x = np.concatenate([np.asarray(a) for a, _ in pairs])
        mask = np.concatenate([np.asarray(b) for _, b in pairs])
        return sorted(a.tobytes() + b.tobytes() for a, b in zip(x, mask, strict=True))

    assert rows(passed) == rows(expected)


def cache_files(rows):
    return sorted(os.listdir(rows.directory)) if rows.directory else []


def test_later_passes_read_the_cache_not_the_file(path):
    rows, encoder, source = rows_of(path)
    expected = fresh(source, encoder)
    same(list(rows.chunks()), expected)  # the first pass reads and writes the cache
    later = list(rows.chunks())
    dealt(later, expected)
    assert len(cache_files(rows)) == 2 * len(later)
    write(mixed(250, seed=1), path)  # the file changes: later passes do not see it
    same(list(rows.chunks()), later)
    os.remove(path)
    same(list(rows.chunks()), later)
    rows.close()


def test_the_cache_is_removed_on_close_on_exit_and_when_collected(path):
    rows, encoder, source = rows_of(path)
    list(rows.chunks())
    directory = rows.directory
    assert os.path.isdir(directory)
    rows.close()
    assert not os.path.exists(directory)
    same(list(rows.chunks()), fresh(source, encoder))  # closed: the file, uncached
    assert not os.path.exists(directory)
    rows.close()  # twice is fine

    with rows_of(path)[0] as rows:
        list(rows.chunks())
        directory = rows.directory
    assert not os.path.exists(directory)

    rows = rows_of(path)[0]
    list(rows.chunks())
    directory = rows.directory
    del rows
    gc.collect()
    assert not os.path.exists(directory)


@pytest.mark.parametrize("how", ["break", "raise"])
def test_an_interrupted_first_pass_leaves_no_trusted_cache(path, how):
    rows, encoder, _ = rows_of(path)
    if how == "break":
        passing = rows.chunks()
        next(passing), next(passing)
        passing.close()
    else:
        with pytest.raises(RuntimeError):
            for i, _ in enumerate(rows.chunks()):
                if i == 1:
                    raise RuntimeError("the consumer stops")
    assert rows.cached is None and cache_files(rows) == []
    write(mixed(250, seed=1), path)  # a later pass reads the (new) file...
    t = as_table(TableFile(path, 60))
    same(list(rows.chunks()), fresh(t.file, encoder))
    assert rows.cached is not None  # ... and, whole, is the cache
    dealt(list(rows.chunks()), fresh(t.file, encoder))
    rows.close()


def test_a_disk_that_refuses_the_cache_warns_once_and_streams(path, monkeypatch):
    rows, encoder, source = rows_of(path)
    save, calls = np.save, []

    def full(file, arr):
        calls.append(file)
        if len(calls) > 3:  # the second chunk's mask: the disk is full
            raise OSError(28, "No space left on device")
        save(file, arr)

    monkeypatch.setattr(np, "save", full)
    expected = fresh(source, encoder)
    with pytest.warns(AekitWarning, match="cannot keep the encoded rows") as caught:
        for _ in range(3):
            same(list(rows.chunks()), expected)
    assert len(caught) == 1 and len(calls) == 4
    assert rows.cached is None and cache_files(rows) == []  # the partial chunks are gone
    rows.close()


def test_caching_off_reads_the_file_every_pass(path, monkeypatch):
    monkeypatch.setattr(encoded_rows, "CACHE", False)
    rows, encoder, source = rows_of(path)
    same(list(rows.chunks()), fresh(source, encoder))
    assert rows.directory is None
    write(mixed(250, seed=1), path)
    same(list(rows.chunks()), fresh(as_table(TableFile(path, 60)).file, encoder))


def test_each_process_caches_its_own_shard(path):
    rows, encoder, source = rows_of(path)
    expected = fresh(source, encoder, rank=1, size=3)
    same(list(rows.chunks(1, 3)), expected)  # the first pass writes the shard
    later = list(rows.chunks(1, 3))  # the others read it
    dealt(later, expected)
    assert rows.cached is not None and len(rows.cached) == len(later)
    write(mixed(250, seed=1), path)
    same(list(rows.chunks(1, 3)), later)
    # another shard (the whole file, after training) reads the file as before
    same(list(rows.chunks()), fresh(as_table(TableFile(path, 60)).file, encoder))
    rows.close()


def test_rows_in_memory_close_as_streamed_ones_do():
    x, mask = torch.zeros(4, 2), torch.ones(4, 2, dtype=torch.bool)
    with TensorRows(x, mask) as rows:
        rows.close()
        (got,) = rows.chunks()
    assert got[0] is x and got[1] is mask


def fitted(model, path, monkeypatch, cache):
    """``model`` fitted on the file at ``path`` (cached or not), and the number of
    times the file was read."""
    monkeypatch.setattr(encoded_rows, "CACHE", cache)
    reads, read = [], stream.TableFile.chunks

    def counted(self, **kwargs):
        reads.append(1)
        return read(self, **kwargs)

    monkeypatch.setattr(stream.TableFile, "chunks", counted)
    model.fit(TableFile(path, 60))
    monkeypatch.setattr(stream.TableFile, "chunks", read)
    left = [d for d in os.listdir(tempfile.gettempdir()) if d.startswith("aekit-rows-")]
    assert left == []  # the fit closed its rows
    return model, len(reads)


@pytest.mark.parametrize("path", ["csv"], indirect=True)  # fits: the format does not matter
@pytest.mark.parametrize(
    ("model", "after"),  # after: passes over the rows once trained
    [
        (aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=4, random_state=0), 0),
        (aekit.VAE(hidden_dims=(8,), prior="student-t", max_epochs=3, random_state=0), 1),
    ],
    ids=["autoencoder", "student-t-vae"],
)
def test_a_cached_fit_reads_the_file_once_and_trains_its_first_epoch_as_without(
    path, monkeypatch, model, after
):
    """The first epoch reads the file, as without the cache; the later ones read
    the cache, its rows dealt out across chunks (other batches than the file's
    order gives without it)."""
    on, reads_on = fitted(clone(model), path, monkeypatch, cache=True)
    off, reads_off = fitted(clone(model), path, monkeypatch, cache=False)
    assert reads_off - reads_on == on.n_epochs_ + after - 1  # one read for every pass
    first = [h.history_.drop(columns="best").head(1) for h in (on, off)]  # best: of all epochs
    pd.testing.assert_frame_equal(*first)
    assert on.module_.state_dict().keys() == off.module_.state_dict().keys()


@pytest.mark.parametrize("path", ["parquet"], indirect=True)
def test_a_streamed_imputer_trains_its_first_epoch_as_without_the_cache(path, monkeypatch):
    model = aekit.Autoencoder(hidden_dims=(8,), latent_dim=2, max_epochs=3)
    imputer = aekit.Imputer(model=model, n_models=2, random_state=0)
    on, _ = fitted(clone(imputer), path, monkeypatch, cache=True)
    off, _ = fitted(clone(imputer), path, monkeypatch, cache=False)
    df = mixed(40, seed=2)
    assert on.transform(df).notna().all().all() and off.transform(df).notna().all().all()
    for m, n in zip(on.models_, off.models_, strict=True):
        pd.testing.assert_frame_equal(*[h.history_.drop(columns="best").head(1) for h in (m, n)])


@pytest.mark.parametrize("copies", [1, 2], ids=["one network", "a batched ensemble"])
def test_a_streamed_epoch_takes_the_steps_of_its_rows_in_memory(path, monkeypatch, copies):
    """Chunks of 70 rows in batches of 16: the rows left at a chunk's end open the
    next chunk's first batch, so the 250 rows take ceil(250 / 16) = 16 steps an
    epoch, every batch full but the last, as in memory (not 5 + 5 + 5 + 4 = 19)."""
    sizes, batches = [], aekit.training.loop._Steps._batches

    def seen(self, data):
        for xb, mb in batches(self, data):
            assert xb.shape[:-1] == mb.shape[:-1]
            sizes.append(xb.shape[-2])
            yield xb, mb

    monkeypatch.setattr(aekit.training.loop._Steps, "_batches", seen)
    model = aekit.Autoencoder(
        hidden_dims=(8,), latent_dim=2, batch_size=16, max_epochs=2, validation_fraction=0
    )
    whole = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    for source in (whole, TableFile(path, 70)):
        sizes.clear()
        clone(model).fit_copies(source, copies, random_state=0)
        assert sizes == 2 * ([16] * 15 + [10]), str(sizes)  # two epochs


@pytest.mark.parametrize("path", ["csv"], indirect=True)
def test_the_candidates_of_a_streamed_fit_share_its_passes(path, monkeypatch):
    """Choosing the sizes fits two candidates on the same held-out rows: the
    file is read to settle its types, to scan it, to draw those rows and to
    encode the others once (4 reads, not 7). The first candidate fits what it
    fits unshared; the second trains from the first's cache from its first
    epoch on (rows dealt across chunks), where unshared it reads the file."""
    model = aekit.Autoencoder(max_epochs=3, random_state=0)
    shared, reads = fitted(clone(model), path, monkeypatch, cache=True)
    assert len(shared.capacity_scores_) == 2 and reads == 4

    def unshared(self):
        self.kept = None  # every fit draws its split and encodes its rows itself
        yield

    monkeypatch.setattr(table.FileTable, "sharing", contextmanager(unshared))
    alone, reads = fitted(clone(model), path, monkeypatch, cache=True)
    assert reads == 7
    first = [s.capacity_scores_.drop(columns="seconds").iloc[0] for s in (shared, alone)]
    pd.testing.assert_series_equal(*first)


def test_a_file_sorted_by_a_column_is_dealt_and_sampled_across_its_range(path):
    """Sorted by c, each chunk of 60 rows holds a fifth of c's range; each part a
    later pass reads holds rows from across it, and the rows a streamed fit's
    bins are fitted on are a uniform sample of the file, not its first chunk."""
    write(mixed(250).sort_values("c"), path)
    rows, encoder, source = rows_of(path)
    j = int(encoder.start[[c.name for c in encoder.schema].index("c")])
    first = [x[:, j].numpy() for x, _ in rows.chunks()]
    whole = np.ptp(np.concatenate(first))
    assert max(np.ptp(v) for v in first) < 0.5 * whole
    parts = [x[:, j].numpy() for x, _ in rows.chunks()]
    assert len(parts) == len(first) and min(np.ptp(v) for v in parts) > 0.7 * whole
    rows.close()
    sample = sample_rows(source, 60, 0, BINS)
    assert len(sample) == 60 and sample.index.is_monotonic_increasing
    assert np.ptp(sample["c"]) > 0.7 * np.ptp(mixed(250)["c"])


def test_a_disk_that_refuses_the_parts_keeps_the_chunks_in_the_files_order(path, monkeypatch):
    rows, encoder, source = rows_of(path)
    expected = fresh(source, encoder)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", full)
    with pytest.warns(AekitWarning, match="cannot deal the encoded rows"):
        same(list(rows.chunks()), expected)
    assert len(cache_files(rows)) == 2 * len(expected)  # the chunks' files, no part's
    same(list(rows.chunks()), expected)  # read from the cache, in the file's order
    rows.close()
