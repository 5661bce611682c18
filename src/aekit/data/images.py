"""Images: IDX files (MNIST's format), folders of PNG files, and masks that hide pixels.

Images are float arrays with values in [0, 1], of shape (n, H, W) when grayscale
and (n, C, H, W), channels first, when in colour. A mask is a boolean array of
the images' shape, True where a pixel is hidden; :func:`hide_pixels` turns the
hidden pixels into NaN, the missing-value marker of the rest of aekit.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..distributed import is_main_process
from ..errors import AekitError
from ..io import atomic_directory, atomic_write
from .missing import MASK_KINDS, hide_pixels, mask_images

# IDX type byte -> element type, as stored in the file (big-endian)
IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {(dt.kind, dt.itemsize): code for code, dt in IDX_TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"
PNG_MAGIC = b"\x89PNG"
ACCEPTED = "load_images reads an IDX image file (gzipped or not) or a folder of .png files"


def _type_names() -> str:
    return ", ".join(
        f"0x{code:02X} ({dt.newbyteorder('=').name})" for code, dt in IDX_TYPES.items()
    )


# --------------------------------------------------------------------------- IDX files


def read_idx(path) -> np.ndarray:
    """Read an IDX file, the format of MNIST and Fashion-MNIST, gzipped or not.

    The file holds a 4-byte magic number (two zero bytes, a type byte, the
    number of dimensions), each dimension as a big-endian uint32, then the
    values, big-endian, in row-major order. Type bytes: 0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. A gzip-compressed file
    is recognised by its first two bytes (1f 8b), whatever its name.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of the shape stored in the file, with the file's element type in
    native byte order (e.g. uint8 of shape (60000, 28, 28) for MNIST's training
    images, uint8 of shape (60000,) for its labels).

    Raises
    ------
    AekitError
        Naming ``path``: no such file, not gzip nor IDX (bad magic number),
        unknown type byte, a corrupt or truncated gzip stream, or a size that
        does not match the header (truncated data or trailing bytes).
    """
    path = Path(path)
    if not path.is_file():
        raise AekitError(f"input {path}: no such file")
    raw = path.read_bytes()
    gzipped = raw[:2] == GZIP_MAGIC
    if gzipped:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise AekitError(f"input {path}: corrupt gzip data ({exc})") from None
    return _parse_idx(raw, path, " (after decompression)" if gzipped else "")


def _parse_idx(raw: bytes, path: Path, note: str) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise AekitError(
            f"input {path}: not an IDX file (an IDX file starts with two zero bytes, "
            f"this one with {raw[:4].hex(' ') or 'nothing'}{note})"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise AekitError(
            f"input {path}: unknown IDX type byte 0x{code:02X}; known: {_type_names()}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise AekitError(
            f"input {path}: truncated header: {ndim} dimensions need {header} bytes, "
            f"found {len(raw)}{note}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_TYPES[code]
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated data" if len(raw) < expected else "trailing bytes after the data"
        raise AekitError(
            f"input {path}: {what}: a {dtype.newbyteorder('=').name} array of shape "
            f"{shape} needs {expected} bytes, found {len(raw)}{note}"
        )
    values = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array, *, compress: bool | None = None, force: bool = False) -> Path:
    """Write ``array`` as an IDX file, the inverse of :func:`read_idx`.

    Parameters
    ----------
    path : str or Path
    array : array-like of any shape (at most 255 dimensions)
        Of type uint8, int8, int16, int32, float32 or float64 (any byte order).
    compress : bool or None, default=None
        Gzip the file; None gzips it when the name ends with ``.gz``.
    force : bool, default=False
        Overwrite an existing file.

    Returns
    -------
    Path
        The file written: whole or not at all (through a temporary file renamed
        into place).
    """
    path = Path(path)
    array = np.asarray(array)
    code = _IDX_CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise AekitError(
            f"array: IDX cannot store dtype {array.dtype}; cast it to one of uint8, int8, "
            "int16, int32, float32, float64"
        )
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise AekitError(
            f"array: shape {array.shape} does not fit IDX (at most 255 dimensions, "
            "each below 2**32)"
        )
    if compress is None:
        compress = path.name.lower().endswith(".gz")
    elif not isinstance(compress, bool):
        raise AekitError(f"compress must be True, False or None; got {compress!r}")
    if path.exists() and not force:
        raise AekitError(f"output {path} exists; pass force=True to overwrite it")
    if path.is_dir():
        raise AekitError(f"output {path} is a folder; an IDX file is a single file")
    if not path.parent.is_dir():
        raise AekitError(f"output {path}: folder {path.parent} does not exist")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    payload = header + array.astype(IDX_TYPES[code], copy=False).tobytes(order="C")
    if compress:
        payload = gzip.compress(payload, mtime=0)  # no time stamp: same array, same bytes
    atomic_write(path, lambda tmp: tmp.write_bytes(payload))
    return path


# --------------------------------------------------------------------------- loading


def load_images(path, *, missing: bool = False) -> np.ndarray:
    """Read images from an IDX file or a folder of PNG files, as floats in [0, 1].

    Parameters
    ----------
    path : str or Path
        - An IDX file (gzipped or not, any name) holding a 3-D array (n, H, W):
          uint8 values are divided by 255; float values must already lie in
          [0, 1]. Other integer types and arrays of other dimensions (e.g. a
          label file) are refused.
        - A folder: every ``*.png`` file in it (any case of the suffix, not in
          sub-folders), in sorted name order, read with
          ``matplotlib.image.imread`` (8-bit and 16-bit PNGs alike). Alpha
          channels are dropped; a grayscale+alpha image keeps its gray channel.
          All images must have one height and width. An image is gray when it
          has one channel or when its red, green and blue are equal everywhere
          (as in the RGBA files that ``matplotlib.image.imsave`` and
          :func:`save_png_folder` write for gray images). If every image is
          gray the result is grayscale; otherwise it is in colour, the gray
          images given the same value on all three channels.
    missing : bool, default=False
        Read missing pixels as NaN, for images to impute: NaN values of a
        float IDX file, and pixels of a PNG that are fully transparent
        (alpha 0). False: NaN is refused and alpha is ignored.

    Returns
    -------
    ndarray of shape (n, H, W) (grayscale) or (n, 3, H, W) (colour), float32
    (float64 from an IDX file of float64), values in [0, 1] (or NaN where missing).
    """
    path = Path(path)
    if path.is_dir():
        return _load_png_folder(path, missing)
    if not path.is_file():
        raise AekitError(f"input {path}: no such file or folder; {ACCEPTED}")
    with open(path, "rb") as f:
        head = f.read(4)
    if head == PNG_MAGIC:
        raise AekitError(f"input {path} is a single PNG file; {ACCEPTED} (put it in a folder)")
    if head[:2] != GZIP_MAGIC and not (len(head) == 4 and head[:2] == b"\0\0"):
        raise AekitError(f"input {path}: neither an IDX file nor a folder; {ACCEPTED}")
    array = read_idx(path)
    if array.ndim != 3:
        raise AekitError(
            f"input {path} holds a {array.ndim}-D array of shape {array.shape} (a label "
            "file?); an IDX image file holds a 3-D array (n, H, W)"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255)
    if array.dtype.kind != "f":
        raise AekitError(
            f"input {path} holds {array.dtype} values; images are stored as uint8 "
            "(0 to 255) or as floats in [0, 1]"
        )
    bad = int(np.count_nonzero(np.isinf(array) if missing else ~np.isfinite(array)))
    if bad:
        what = "infinite" if missing else "NaN or infinite"
        raise AekitError(f"input {path} holds {bad} {what} pixel value(s)")
    values = array[~np.isnan(array)]
    if values.size and (values.min() < 0 or values.max() > 1):
        raise AekitError(
            f"input {path}: float pixel values must lie in [0, 1]; found "
            f"{values.min():g} to {values.max():g}"
        )
    return array.astype(np.float64 if array.dtype.itemsize == 8 else np.float32)


def _read_png(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """One PNG as float32 (H, W) or (H, W, 3), and its alpha channel (H, W) or None."""
    import matplotlib.image as mpimg
    from PIL import Image

    try:
        image = mpimg.imread(str(path), format="png")
    except (OSError, ValueError, SyntaxError, EOFError, zlib.error, Image.DecompressionBombError):
        # Pillow reports a file that is not a PNG with SyntaxError
        raise AekitError(f"input {path}: not a readable PNG file") from None
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image, None
    alpha = image[:, :, -1] if image.ndim == 3 and image.shape[2] in (2, 4) else None
    if image.ndim == 3 and image.shape[2] == 2:  # gray + alpha
        return image[:, :, 0], alpha
    if image.ndim == 3 and image.shape[2] in (3, 4):  # RGB, RGBA
        return image[:, :, :3], alpha
    raise AekitError(f"input {path}: an image of unexpected shape {image.shape}")


def png_files(folder) -> list[Path]:
    """The PNG files of a folder in the order :func:`load_images` reads them (by
    name); hidden files (``._img.png``, a Mac's metadata beside each file) are not."""
    files = (
        p
        for p in Path(folder).iterdir()
        if p.suffix.lower() == ".png" and p.is_file() and not p.name.startswith(".")
    )
    return sorted(files, key=lambda p: p.name)


def _load_png_folder(folder: Path, missing: bool = False) -> np.ndarray:
    entries = list(folder.iterdir())
    if not entries:
        raise AekitError(f"input {folder}: the folder is empty; {ACCEPTED}")
    files = png_files(folder)
    if not files:
        raise AekitError(
            f"input {folder}: no .png files in the folder ({len(entries)} other entries); "
            f"{ACCEPTED}"
        )
    images, colour = [], False
    for file in files:
        image, alpha = _read_png(file)
        if image.ndim == 3 and _all_gray(image):
            image = image[:, :, 0]
        if missing and alpha is not None:
            hidden = alpha == 0
            image = np.where(hidden if image.ndim == 2 else hidden[:, :, None], np.nan, image)
        if images and image.shape[:2] != images[0].shape[:2]:
            raise AekitError(
                f"input {folder}: {file.name} has shape {image.shape[:2]} (height, width) "
                f"but {files[0].name} has {images[0].shape[:2]}; all images in a folder "
                "must have one shape"
            )
        colour = colour or image.ndim == 3
        images.append(image)
    if not colour:
        return np.stack(images)
    X = np.empty((len(images), 3, *images[0].shape[:2]), dtype=np.float32)
    for i, image in enumerate(images):
        X[i] = image.transpose(2, 0, 1) if image.ndim == 3 else image  # gray: on every channel
    return X


def _all_gray(image: np.ndarray) -> bool:
    """Whether red, green and blue of an (H, W, 3) image are equal everywhere."""
    return np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(
        image[:, :, 0], image[:, :, 2]
    )


def load_digits_images():
    """scikit-learn's 8x8 handwritten digits as images (shipped with it, no download).

    Returns
    -------
    X : ndarray of shape (1797, 8, 8), float32
        Pixel values 0 to 16 divided by 16, so in [0, 1].
    y : ndarray of shape (1797,), int
        The digit shown, 0 to 9.
    """
    from sklearn import datasets

    bunch = datasets.load_digits()
    return (bunch.images / 16).astype(np.float32), bunch.target


# --------------------------------------------------------------------------- saving


def save_png_folder(images, folder, *, force: bool = False, names=None, bits: int = 8) -> Path:
    """Write images as PNG files ``img00000.png``, ``img00001.png``, ... (or
    ``names``) in a new folder.

    Parameters
    ----------
    images : array-like of shape (n, H, W), (n, 1, H, W) or (n, 3, H, W)
        Values in [0, 1]. Each value is rounded to the nearest of the 256
        levels of an 8-bit PNG (an error of at most 1/510). Images are written
        as RGBA files, grayscale ones with equal red, green and blue (what
        ``matplotlib.image.imsave`` writes), which :func:`load_images` reads
        back as grayscale (n, H, W), also for (n, 1, H, W) input. A missing
        pixel (NaN, on every channel of a colour pixel) is written fully
        transparent, which ``load_images(folder, missing=True)`` reads back as
        NaN.
    folder : str or Path
        Created by this call; numbers are zero-padded to the width of n, at
        least 5 digits, so that name order is image order.
    force : bool, default=False
        Replace an existing folder; only one that holds nothing but PNG files
        (e.g. an earlier output), so that no other file is lost.
    names : sequence of str, optional
        The files' names, one per image (e.g. those of the folder the images
        were read from, :func:`png_files`): distinct, ending in ``.png``.
    bits : {8, 16}, default=8
        16: grayscale images without missing pixels are written as 16-bit
        grayscale PNG files (65,536 levels), so that images read from such
        files are written back exactly.

    Returns
    -------
    Path
        The folder, whole or not at all: the files are written into a hidden
        sibling folder that is then renamed into place.
    """
    import matplotlib.image as mpimg

    folder = Path(folder)
    if not is_main_process():  # under torchrun only rank 0 writes
        return folder
    X = np.asarray(images)
    if X.dtype.kind not in "biuf":
        raise AekitError(f"images must be numbers; got dtype {X.dtype}")
    if not (X.ndim == 3 or (X.ndim == 4 and X.shape[1] in (1, 3))):
        raise AekitError(
            f"images must have shape (n, H, W), (n, 1, H, W) or (n, 3, H, W); got {X.shape}"
        )
    if X.shape[0] == 0 or X.size == 0:
        raise AekitError(f"images holds no pixels (shape {X.shape})")
    bad = int(np.count_nonzero(np.isinf(X)))
    if bad:
        raise AekitError(f"images holds {bad} infinite pixel value(s); a PNG has none")
    nan = np.isnan(X)
    hidden = nan if X.ndim == 3 else nan.any(axis=1)  # (n, H, W): pixels to make transparent
    if X.ndim == 4 and not np.array_equal(nan, np.broadcast_to(hidden[:, None], X.shape)):
        raise AekitError(
            "images has NaN in some channels of a pixel but not in all; a PNG marks a "
            "missing pixel as transparent, all its channels together"
        )
    values = X[~nan]
    if values.size and (values.min() < 0 or values.max() > 1):
        raise AekitError(
            f"images must have values in [0, 1]; found {values.min():g} to {values.max():g}"
        )
    if folder.exists():
        if not force:
            raise AekitError(f"output {folder} exists; pass force=True to replace it")
        if not folder.is_dir():
            raise AekitError(f"output {folder} exists and is not a folder")
        others = sorted(p.name for p in folder.iterdir() if p.suffix.lower() != ".png")
        if others:
            raise AekitError(
                f"output {folder} holds other files ({', '.join(others[:3])}); only a "
                "folder of PNG files is replaced"
            )
    if not folder.parent.is_dir():
        raise AekitError(f"output {folder}: folder {folder.parent} does not exist")

    levels = np.rint(np.nan_to_num(X.astype(np.float64)) * 255).astype(np.uint8)
    if levels.ndim == 4:
        levels = levels.transpose(0, 2, 3, 1)  # channels last, as image files store them
    else:
        levels = levels[..., None]
    # 8-bit RGBA passes through imsave unchanged; the "gray" colour map would
    # quantise a second time (256 bins) and could be off by 1.6/255
    alpha = np.where(hidden, 0, 255).astype(np.uint8)[..., None]
    rgba = np.concatenate([np.broadcast_to(levels, (*levels.shape[:3], 3)), alpha], axis=3)
    width = max(5, len(str(len(levels))))
    names = [f"img{i:0{width}d}.png" for i in range(len(rgba))] if names is None else names
    if len(names) != len(rgba) or len(set(names)) != len(names):
        raise AekitError(f"names must be {len(rgba)} distinct file names, one per image")
    if any(Path(n).name != n or not n.lower().endswith(".png") for n in names):
        raise AekitError("names must be plain file names ending in .png")

    if bits == 16 and levels.shape[-1] == 1 and not hidden.any():
        deep = np.rint(np.nan_to_num(X.astype(np.float64)).reshape(rgba.shape[:3]) * 65535)
        rgba = deep.astype(np.uint16)  # one grayscale channel of 16 bits

    def fill(tmp: Path) -> None:
        from PIL import Image

        for name, image in zip(names, rgba, strict=True):
            if image.dtype == np.uint16:
                Image.fromarray(image).save(tmp / name, format="png")
            else:
                mpimg.imsave(str(tmp / name), image, format="png")

    atomic_directory(folder, fill)
    return folder


# masks live with the rest of missingness simulation; they are read from here too
__all__ = [
    "MASK_KINDS",
    "hide_pixels",
    "load_digits_images",
    "load_images",
    "mask_images",
    "read_idx",
    "save_png_folder",
    "write_idx",
]
