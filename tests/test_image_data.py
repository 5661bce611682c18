"""Images: IDX files checked against the format's bytes, PNG folders, digits, pixel masks."""

import gzip
import re
import struct

import matplotlib.image as mpimg
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from aekit import AekitError
from aekit.data.images import (
    hide_pixels,
    load_digits_images,
    load_images,
    mask_images,
    read_idx,
    save_png_folder,
    write_idx,
)

SAMPLES = {
    "uint8": np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10,
    "int8": np.array([[-128, -1, 0, 127]], dtype=np.int8),
    "int16": np.array([[-32768, -2, 0, 1], [300, 32767, 5, -300]], dtype=np.int16),
    "int32": np.array([-(2**31), -1, 0, 2**31 - 1], dtype=np.int32),
    "float32": np.array([[0.0, -1.5, 3.25], [1e-30, np.inf, 6e7]], dtype=np.float32),
    "float64": np.array([[[0.1, -2.0]], [[1e300, 5e-324]]]),
}
# type byte and struct letter of each, from the format's definition
SPEC = {
    "uint8": (0x08, "B"),
    "int8": (0x09, "b"),
    "int16": (0x0B, "h"),
    "int32": (0x0C, "i"),
    "float32": (0x0D, "f"),
    "float64": (0x0E, "d"),
}


def idx_bytes(array, name):
    """An IDX file assembled by hand: magic, big-endian uint32 sizes, big-endian values."""
    code, letter = SPEC[name]
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + struct.pack(f">{array.size}{letter}", *array.ravel().tolist())


def assert_path_error(path, call):
    with pytest.raises(AekitError, match=re.escape(str(path))) as info:
        call()
    return str(info.value)


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("gz", [False, True])
def test_reader_follows_the_spec(tmp_path, name, gz):
    array = SAMPLES[name]
    data = idx_bytes(array, name)
    path = tmp_path / "hand.idx"  # no .gz: gzip is told by its magic bytes
    path.write_bytes(gzip.compress(data) if gz else data)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


@pytest.mark.parametrize("name", list(SAMPLES))
def test_writer_writes_the_spec_bytes(tmp_path, name):
    array = SAMPLES[name]
    write_idx(tmp_path / "a.idx", array)
    assert (tmp_path / "a.idx").read_bytes() == idx_bytes(array, name)
    write_idx(tmp_path / "a.idx.gz", array)
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == idx_bytes(array, name)


@pytest.mark.parametrize("name", ["uint8", "float32", "int16"])
@pytest.mark.parametrize(("filename", "compress"), [("x.idx", None), ("x.gz", None), ("x", True)])
def test_write_read_round_trip(tmp_path, name, filename, compress):
    array = SAMPLES[name].astype(SAMPLES[name].dtype.newbyteorder(">"))  # any byte order in
    path = write_idx(tmp_path / filename, array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (filename.endswith(".gz") or bool(compress))
    back = read_idx(path)
    assert back.dtype == SAMPLES[name].dtype
    np.testing.assert_array_equal(back, SAMPLES[name])


def test_uncompressed_file_named_gz(tmp_path):
    path = write_idx(tmp_path / "plain.gz", SAMPLES["uint8"], compress=False)
    assert path.read_bytes()[:2] == b"\0\0"
    np.testing.assert_array_equal(read_idx(path), SAMPLES["uint8"])


def test_writer_refusals(tmp_path):
    path = write_idx(tmp_path / "a.idx", SAMPLES["uint8"])
    with pytest.raises(AekitError, match=r"exists; pass force=True"):
        write_idx(path, SAMPLES["int16"])
    np.testing.assert_array_equal(read_idx(path), SAMPLES["uint8"])
    write_idx(path, SAMPLES["int16"], force=True)
    np.testing.assert_array_equal(read_idx(path), SAMPLES["int16"])
    for bad in (np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool), np.zeros(2, np.float16)):
        with pytest.raises(AekitError, match=f"dtype {bad.dtype}"):
            write_idx(tmp_path / "b.idx", bad)
    with pytest.raises(AekitError, match="does not exist"):
        write_idx(tmp_path / "no" / "c.idx", SAMPLES["uint8"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.idx"]  # no temporary left


def _corruptions():
    good = idx_bytes(SAMPLES["uint8"], "uint8")  # header 16 bytes + 24 values
    zipped = gzip.compress(good)
    return {
        "empty": (b"", "not an IDX file"),
        "bad magic": (b"\x01\x00" + good[2:], "not an IDX file"),
        "csv": (b"a,b\n1,2\n", "not an IDX file"),
        "type byte": (good[:2] + b"\x0a" + good[3:], "unknown IDX type byte 0x0A"),
        "short header": (good[:9], "truncated header: 3 dimensions need 16 bytes, found 9"),
        "truncated": (
            good[:-5],
            r"truncated data: a uint8 array of shape \(2, 3, 4\) needs 40 bytes, found 35",
        ),
        "trailing": (good + b"\0\0", "trailing bytes after the data: .* needs 40 bytes, found 42"),
        "gz truncated": (gzip.compress(good[:-1]), r"needs 40 bytes, found 39 \(after decomp"),
        "gz corrupt": (zipped[:12] + bytes(b ^ 0x55 for b in zipped[12:]), "corrupt gzip"),
        "gz cut": (zipped[: len(zipped) // 2], "corrupt gzip"),
    }


@pytest.mark.parametrize("case", list(_corruptions()))
def test_corrupt_files_name_the_path(tmp_path, case):
    data, message = _corruptions()[case]
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    text = assert_path_error(path, lambda: read_idx(path))
    assert re.search(message, text), text


def test_missing_file(tmp_path):
    text = assert_path_error(tmp_path / "none.idx", lambda: read_idx(tmp_path / "none.idx"))
    assert "no such file" in text
    assert "no such file" in assert_path_error(tmp_path, lambda: read_idx(tmp_path))


# --------------------------------------------------------------------------- load_images


def test_load_idx_images(tmp_path):
    raw = np.random.default_rng(0).integers(0, 256, (5, 4, 3)).astype(np.uint8)
    path = tmp_path / "train-images-idx3-ubyte"  # MNIST's names carry no extension
    path.write_bytes(gzip.compress(idx_bytes(raw, "uint8")))
    X = load_images(path)
    assert X.dtype == np.float32 and X.shape == (5, 4, 3)
    np.testing.assert_array_equal(X, raw.astype(np.float32) / 255)
    assert X.min() >= 0 and X.max() <= 1

    floats = np.linspace(0, 1, 24, dtype=np.float64).reshape(2, 3, 4)
    write_idx(tmp_path / "f.idx", floats)
    X = load_images(tmp_path / "f.idx")
    assert X.dtype == np.float64  # a float64 file keeps its precision
    np.testing.assert_array_equal(X, floats)
    write_idx(tmp_path / "f32.idx", floats.astype(np.float32))
    assert load_images(tmp_path / "f32.idx").dtype == np.float32


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.arange(10, dtype=np.uint8), r"holds a 1-D array of shape \(10,\) \(a label file\?\)"),
        (np.zeros((2, 3, 4, 3), dtype=np.uint8), "holds a 4-D array"),
        (np.full((1, 2, 2), 1.5, dtype=np.float32), r"must lie in \[0, 1\]; found 1\.5 to 1\.5"),
        (np.full((1, 2, 2), np.nan, dtype=np.float32), "holds 4 NaN"),
        (np.zeros((1, 2, 2), dtype=np.int16), "holds int16 values"),
    ],
)
def test_load_images_refuses_idx_that_is_no_image(tmp_path, array, message):
    path = write_idx(tmp_path / "a.idx", array)
    text = assert_path_error(path, lambda: load_images(path))
    assert re.search(message, text), text


def test_load_images_says_what_it_accepts(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    for path in (csv, tmp_path / "missing"):
        assert "IDX image file (gzipped or not) or a folder of .png" in assert_path_error(
            path, lambda path=path: load_images(path)
        )
    png = tmp_path / "one.png"
    mpimg.imsave(png, np.zeros((2, 2, 3)))
    assert "single PNG" in assert_path_error(png, lambda: load_images(png))


def _folder(tmp_path, name="pngs"):
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_png_folder_gray(tmp_path):
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (3, 5, 7)) / 255
    folder = _folder(tmp_path)
    for i, image in enumerate(gray):
        mpimg.imsave(folder / f"g{i}.png", image, cmap="gray", vmin=0, vmax=1)
    (folder / "notes.txt").write_text("not an image")
    X = load_images(folder)
    assert X.dtype == np.float32 and X.shape == (3, 5, 7)
    np.testing.assert_allclose(X, gray, atol=1 / 255)


def test_png_folder_rgb_and_rgba(tmp_path):
    rng = np.random.default_rng(2)
    rgb = rng.random((2, 4, 6, 3))
    alpha = rng.random((4, 6, 1))
    folder = _folder(tmp_path)
    mpimg.imsave(folder / "a.png", rgb[0])
    mpimg.imsave(folder / "b.PNG", np.concatenate([rgb[1], alpha], axis=2))  # RGBA, upper case
    X = load_images(folder)
    assert X.dtype == np.float32 and X.shape == (2, 3, 4, 6)
    # imsave floors x * 255: below the original by less than one level
    np.testing.assert_allclose(X, rgb.transpose(0, 3, 1, 2), atol=1 / 255 + 1e-6)


def test_png_folder_sorted_by_name_and_pillow_modes(tmp_path):
    folder = _folder(tmp_path)
    Image.fromarray(np.full((3, 4), 30, np.uint8), mode="L").save(folder / "b.png")
    Image.fromarray(np.full((3, 4), 10, np.uint8), mode="L").save(folder / "A.PNG")
    sixteen = (np.arange(12).reshape(3, 4) * 5000).astype(np.uint16)
    Image.fromarray(sixteen).save(folder / "c.png")  # 16-bit grayscale
    la = np.stack([np.full((3, 4), 200, np.uint8), np.full((3, 4), 7, np.uint8)], axis=2)
    Image.fromarray(la, mode="LA").save(folder / "d.png")  # gray + alpha
    X = load_images(folder)
    assert X.shape == (4, 3, 4) and X.dtype == np.float32
    np.testing.assert_allclose(X[0], 10 / 255)  # "A.PNG" sorts before "b.png"
    np.testing.assert_allclose(X[1], 30 / 255)
    np.testing.assert_allclose(X[2], sixteen / 65535, atol=1e-6)
    np.testing.assert_allclose(X[3], 200 / 255)


def test_png_folder_gray_and_colour_mixed(tmp_path):
    folder = _folder(tmp_path)
    colour = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    Image.fromarray(colour, mode="RGB").save(folder / "a.png")
    Image.fromarray(np.full((4, 5), 51, np.uint8), mode="L").save(folder / "b.png")
    mpimg.imsave(folder / "c.png", np.zeros((4, 5, 3)))  # black: gray, stored as RGBA
    X = load_images(folder)
    assert X.shape == (3, 3, 4, 5)
    np.testing.assert_allclose(X[0], colour.transpose(2, 0, 1) / 255, atol=1e-7)
    np.testing.assert_allclose(X[1], 0.2, atol=1e-7)  # gray: the value on every channel
    assert (X[2] == 0).all()


def test_png_folder_refusals(tmp_path):
    folder = _folder(tmp_path)
    mpimg.imsave(folder / "a.png", np.zeros((4, 5, 3)))
    mpimg.imsave(folder / "b.png", np.zeros((4, 5, 3)))
    mpimg.imsave(folder / "c.png", np.zeros((5, 5, 3)))
    text = assert_path_error(folder, lambda: load_images(folder))
    assert "c.png has shape (5, 5) (height, width) but a.png has (4, 5)" in text

    empty = _folder(tmp_path, "empty")
    assert "the folder is empty" in assert_path_error(empty, lambda: load_images(empty))
    (empty / "x.csv").write_text("a\n1\n")
    assert "no .png files" in assert_path_error(empty, lambda: load_images(empty))
    (empty / "y.png").write_bytes(b"not a png at all")
    assert "not a readable PNG" in assert_path_error(empty / "y.png", lambda: load_images(empty))


# --------------------------------------------------------------------------- save_png_folder


@pytest.mark.parametrize("shape", [(3, 5, 6), (2, 1, 5, 6), (2, 3, 5, 6)])
def test_save_png_folder_round_trip(tmp_path, shape):
    X = np.random.default_rng(3).random(shape).astype(np.float32)
    X[0, ..., 0, 0] = 0.0
    X[0, ..., 0, 1] = 1.0
    folder = save_png_folder(X, tmp_path / "out")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"img{i:05d}.png" for i in range(shape[0])]
    back = load_images(folder)
    expected = X[:, 0] if shape[1:2] == (1,) else X  # one channel comes back grayscale
    assert back.shape == expected.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, expected, atol=0.5 / 255 + 1e-6)  # rounded to 8 bits
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_save_png_folder_replaces_only_with_force(tmp_path):
    X = np.zeros((2, 3, 3))
    folder = save_png_folder(X, tmp_path / "out")
    with pytest.raises(AekitError, match=r"out exists; pass force=True"):
        save_png_folder(X, folder)
    save_png_folder(np.ones((1, 3, 3)), folder, force=True)
    assert [p.name for p in folder.iterdir()] == ["img00000.png"]
    np.testing.assert_allclose(load_images(folder), 1.0)
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(AekitError, match=r"holds other files \(keep\.txt\)"):
        save_png_folder(X, folder, force=True)
    assert (folder / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.where(np.eye(4)[None] > 0, np.inf, 0.5), "images holds 4 infinite"),
        (np.full((1, 2, 2), 1.2), r"values in \[0, 1\]; found 1\.2 to 1\.2"),
        (np.zeros((1, 2, 2, 2)), r"\(n, 3, H, W\); got \(1, 2, 2, 2\)"),
        (np.zeros((4, 4)), r"got \(4, 4\)"),
        (np.zeros((0, 4, 4)), "holds no pixels"),
    ],
)
def test_save_png_folder_bad_input_leaves_nothing(tmp_path, X, message):
    with pytest.raises(AekitError, match=message):
        save_png_folder(X, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape", [(3, 5, 4), (3, 3, 5, 4)])
def test_missing_pixels_round_trip_as_transparent_png(tmp_path, shape):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, shape).astype(np.float32) / 255
    hidden = rng.random((shape[0], *shape[-2:])) < 0.3
    X_miss = hide_pixels(X, hidden)
    folder = save_png_folder(X_miss, tmp_path / "holes")
    back = load_images(folder, missing=True)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(X_miss))
    np.testing.assert_allclose(back[~np.isnan(back)], X[~np.isnan(X_miss)], atol=1 / 510)
    assert not np.isnan(load_images(folder)).any()  # without missing=True alpha is ignored


def test_float_idx_with_nan_reads_as_missing_only_when_asked(tmp_path):
    X = np.full((2, 3, 3), 0.5, dtype=np.float32)
    X[0, 1, 1] = np.nan
    path = write_idx(tmp_path / "holes.idx", X)
    with pytest.raises(AekitError, match="holds 1 NaN or infinite pixel"):
        load_images(path)
    back = load_images(path, missing=True)
    assert np.isnan(back[0, 1, 1]) and np.isnan(back).sum() == 1
    X[1, 0, 0] = np.inf
    with pytest.raises(AekitError, match="holds 1 infinite pixel"):
        load_images(write_idx(tmp_path / "inf.idx", X), missing=True)


def test_save_png_folder_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    real, calls = mpimg.imsave, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(mpimg, "imsave", failing)
    with pytest.raises(OSError, match="disk full"):
        save_png_folder(np.zeros((5, 2, 2)), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- digits


def test_load_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 1
    assert y.shape == (1797,) and set(np.unique(y)) == set(range(10))


# --------------------------------------------------------------------------- masks

KINDS = ["pixels", "blocks", "patches"]


@pytest.mark.parametrize("kind", KINDS)
def test_mask_shape_seed_and_channels(kind):
    X = np.zeros((6, 3, 12, 10), dtype=np.float32)
    mask = mask_images(X, kind, 0.3, random_state=0)
    assert mask.shape == X.shape and mask.dtype == bool
    assert (mask == mask[:, :1]).all()  # every channel of a pixel alike
    np.testing.assert_array_equal(mask, mask_images(X, kind, 0.3, random_state=0))
    assert not np.array_equal(mask, mask_images(X, kind, 0.3, random_state=1))
    gray = mask_images(X[:, 0], kind, 0.3, random_state=0)
    assert gray.shape == (6, 12, 10)
    np.testing.assert_array_equal(gray, mask[:, 0])  # the channels do not change the draw
    # a RandomState or a Generator as seed
    np.testing.assert_array_equal(
        mask_images(X, kind, 0.3, random_state=np.random.RandomState(0)), mask
    )
    a = mask_images(X, kind, 0.3, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(
        a, mask_images(X, kind, 0.3, random_state=np.random.default_rng(5))
    )


def test_pixels_rate():
    mask = mask_images(np.zeros((5, 32, 32)), "pixels", 0.25, random_state=0)
    assert abs(mask.mean() - 0.25) < 0.02


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5, 0.9])
def test_patches_rate_is_exact(rate):
    mask = mask_images(np.zeros((7, 20, 15)), "patches", rate, random_state=0)
    assert (mask.sum(axis=(1, 2)) == round(rate * 300)).all()


def _neighbours_agree(mask):
    return np.mean(
        np.concatenate(
            [
                (mask[:, 1:, :] == mask[:, :-1, :]).ravel(),
                (mask[:, :, 1:] == mask[:, :, :-1]).ravel(),
            ]
        )
    )


def test_patches_are_blobs():
    X = np.zeros((8, 28, 28))
    patches = mask_images(X, "patches", 0.3, random_state=0)
    pixels = mask_images(X, "pixels", 0.3, random_state=0)
    # independent pixels agree with a neighbour 0.3² + 0.7² = 58% of the time
    assert _neighbours_agree(pixels) < 0.65
    assert _neighbours_agree(patches) > 0.85
    larger = mask_images(X, "patches", 0.3, size=6, random_state=0)
    assert _neighbours_agree(larger) > _neighbours_agree(patches)


@pytest.mark.parametrize(("rate", "side"), [(0.25, 14), (0.3, 16), (0.05, 7)])
def test_default_blocks_are_one_square(rate, side):
    mask = mask_images(np.zeros((20, 28, 28)), "blocks", rate, random_state=0)
    for image in mask:
        rows, cols = np.nonzero(image)
        assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side
        assert image.sum() == side * side
        assert image.mean() >= rate
    # the positions vary, all inside the image
    corners = {(np.nonzero(m)[0].min(), np.nonzero(m)[1].min()) for m in mask}
    assert len(corners) > 10


@pytest.mark.parametrize(
    ("shape", "rate", "size"), [((10, 16, 16), 0.4, 3), ((4, 4, 40), 0.5, None)]
)
def test_more_blocks_until_the_rate_is_reached(shape, rate, size):
    mask = mask_images(np.zeros(shape), "blocks", rate, size=size, random_state=0)
    side = size or 4  # the default side 9 is capped at the image height 4
    square = np.ones((side, side), dtype=bool)
    for image in mask:
        share = image.mean()
        # at least rate; the last block added could only push it past rate by its area
        assert rate <= share < rate + side * side / image.size
        # a union of whole side x side squares: opening by the square changes nothing
        np.testing.assert_array_equal(ndimage.binary_opening(image, structure=square), image)


def test_hide_pixels():
    X = np.random.default_rng(0).random((4, 3, 6, 5)).astype(np.float32)
    before = X.copy()
    mask = mask_images(X, "patches", 0.3, random_state=0)
    out = hide_pixels(X, mask)
    np.testing.assert_array_equal(X, before)
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_array_equal(np.isnan(out), mask)
    np.testing.assert_array_equal(out[~mask], X[~mask])
    np.testing.assert_array_equal(hide_pixels(X, mask[:, 0]), out)  # a per-pixel mask
    ints = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    out = hide_pixels(ints, np.eye(3, 4, dtype=bool)[None])
    assert out.dtype == np.float32 and np.isnan(out).sum() == 3 and ints.dtype == np.uint8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": np.zeros((4, 4))}, r"X must have shape .* got shape \(4, 4\)"),
        ({"X": np.zeros((1, 1, 1, 4, 4))}, "X must have shape"),
        ({"kind": "holes"}, r"kind must be one of \['pixels', 'blocks', 'patches'\]; got 'holes'"),
        ({"rate": 0}, "rate must be a number in"),
        ({"rate": 1.0}, "rate must be a number in"),
        ({"rate": "0.2"}, "rate must be a number in"),
        ({"rate": True}, "rate must be a number in"),
        ({"kind": "blocks", "size": 0}, r"size must be an int in \(0, min\(H, W\)\] = \(0, 8\]"),
        ({"kind": "blocks", "size": 9}, "size must be an int"),
        ({"kind": "blocks", "size": 2.5}, "size must be an int"),
        ({"kind": "patches", "size": -1.0}, "size must be a number"),
        ({"kind": "patches", "size": float("nan")}, "size must be a number"),
        ({"kind": "pixels", "size": 2}, "size applies to kind='blocks' and kind='patches' only"),
        ({"random_state": "seed"}, "random_state must be"),
    ],
)
def test_mask_bad_inputs(kwargs, message):
    args = {"X": np.zeros((2, 8, 10)), "kind": "pixels", "rate": 0.2} | kwargs
    X = args.pop("X")
    with pytest.raises(AekitError, match=message):
        mask_images(X, **args)


def test_hide_pixels_bad_inputs():
    X = np.zeros((2, 3, 4))
    with pytest.raises(AekitError, match=r"mask has shape \(2, 4, 3\), but X has shape"):
        hide_pixels(X, np.zeros((2, 4, 3), dtype=bool))
    with pytest.raises(AekitError, match="mask must be a boolean array"):
        hide_pixels(X, np.zeros((2, 3, 4), dtype=int))
