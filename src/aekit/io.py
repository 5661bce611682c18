"""Model files: a directory with ``model.safetensors`` and ``config.json``.

safetensors holds only tensors and JSON holds only data, so loading a model
file from a stranger cannot run code (no pickle anywhere). ``config.json``
carries a format name and version, the aekit version that wrote it, and the
SHA-256 of the weights file, so a truncated, corrupted or mismatched pair is
refused with a clear error instead of being half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .distributed import is_main_process
from .errors import AekitError, ModelFileError
from .version import __version__

FORMAT = "aekit-model"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result onto ``path``: all or nothing.
    Under torchrun only the process of rank 0 writes (see :mod:`aekit.distributed`)."""
    if not is_main_process():
        return
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        _fsync(Path(tmp))  # on disk before the rename, so a crash keeps it whole
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_directory(path: Path, fill) -> None:
    """Call ``fill(tmp_dir)`` on a new hidden sibling directory of ``path``, then
    put it in the place of ``path`` (replacing a directory there): a crash
    leaves the old directory or the new one, never a mixture. The files get the
    modes a plain ``open`` would give them and are on disk before the swap."""
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        fill(tmp)
        umask = _umask()  # mkdtemp makes the directory private
        os.chmod(tmp, 0o777 & ~umask)
        files = [p for p in tmp.iterdir() if p.is_file()]
        for file in files:
            os.chmod(file, 0o666 & ~umask)
        if hasattr(os, "sync") and len(files) > 8:
            os.sync()  # one call for a folder of many files (e.g. images)
        else:
            for file in files:
                _fsync(file)
        _swap_in(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_model_dir(path) -> None:
    """Refuse a path a model cannot be saved to: a file, or a directory that holds
    files other than a model's (saving replaces the directory)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AekitError(f"{path} exists and is not a directory; a model is saved as a directory")
    if path.is_dir():
        others = sorted(p.name for p in path.iterdir() if p.name not in (WEIGHTS, CONFIG))
        if others:
            raise AekitError(
                f"{path} holds other files ({', '.join(others[:3])}); a model is saved into "
                "a directory of its own, which saving replaces"
            )


def write_model(path, config: dict, weights: dict[str, torch.Tensor]) -> None:
    """Write ``weights`` and ``config`` into the directory ``path``, all or nothing.

    Both files are written into a hidden sibling directory that then takes the
    place of ``path`` (:func:`atomic_directory`); an existing ``path`` may hold
    only a model's files. Under torchrun only the process of rank 0 writes.
    """
    if not is_main_process():
        return
    path = Path(path)
    check_model_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a copy each: tensors that share memory (e.g. buffers of models built from one
    # encoder) are refused by safetensors
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in weights.items()}

    def fill(tmp: Path) -> None:
        save_file(tensors, str(tmp / WEIGHTS))
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "aekit_version": __version__,
            "weights_sha256": _sha256(tmp / WEIGHTS),
        }
        text = json.dumps({**header, **config}, indent=1, allow_nan=True)
        (tmp / CONFIG).write_text(text, encoding="utf-8")

    atomic_directory(path, fill)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _swap_in(new: Path, path: Path) -> None:
    """Rename the directory ``new`` to ``path``, replacing an existing one."""
    if not path.exists():
        os.rename(new, path)
        return
    old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
    os.rename(path, old / "model")  # moved aside, still whole, until the new one is in place
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(old / "model", path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_model(path) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read and check a model directory; return (config, weights)."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no model directory there")
    for name in (CONFIG, WEIGHTS):
        if not (path / name).is_file():
            raise ModelFileError(f"{path}: {name} is missing; not an aekit model directory")
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path / CONFIG}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path / CONFIG}: not an aekit model file")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path / CONFIG}: model format version {version!r}; this aekit reads "
            f"version {FORMAT_VERSION}"
        )
    if config.get("weights_sha256") != _sha256(path / WEIGHTS):
        raise ModelFileError(
            f"{path / WEIGHTS}: the weights do not match config.json (corrupted, truncated "
            "or replaced)"
        )
    try:
        weights = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path / WEIGHTS}: unreadable weights ({exc})") from None
    return config, weights
