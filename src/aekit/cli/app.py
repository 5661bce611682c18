"""The ``aekit`` application: its root options, the error handling every command
shares, and the options and arguments several commands declare alike.

Commands import the library inside their functions, so that ``aekit --help``
answers without loading torch.
"""

from __future__ import annotations

import codecs
import functools
import signal
import threading
import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from ..errors import AekitError, AekitWarning
from ..version import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="aekit: autoencoders for imputation, denoising, anomaly detection and density estimation.",
)
_state = {"debug": False, "dialect": None}

# options and arguments shared by several commands
Force = Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")]
Seed = Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
CheckpointDir = Annotated[
    Path | None,
    typer.Option("--checkpoint-dir", help="Save the training state here as it goes (atomic)."),
]
Resume = Annotated[
    bool, typer.Option("--resume", help="Continue from the state in --checkpoint-dir.")
]
ChunkRows = Annotated[
    int | None,
    typer.Option(
        "--chunk-rows",
        min=1,
        help="Tables only: stream the file this many rows at a time (for tables larger "
        "than memory); memory holds one chunk.",
    ),
]
Sep = Annotated[
    str | None, typer.Option("--sep", help="CSV separator (default: told by the file).")
]
MissingText = Annotated[
    list[str] | None,
    typer.Option(
        "--na",
        help="CSV text of a missing cell besides an empty cell, which always is one; "
        "repeat for several (default: pandas' markers: NA, N/A, NaN, null, None, ...). "
        "--na '' makes only empty cells missing, so that a text NA (Namibia) stays text.",
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="CSV text encoding, read and written (default: UTF-8); e.g. cp1252 for a "
        "file saved by Excel on Windows.",
    ),
]
DecimalMark = Annotated[
    str | None, typer.Option("--decimal", help="CSV decimal mark (default: told by the file).")
]
ModelDir = Annotated[Path, typer.Argument(help="A model directory from `aekit fit`.")]
Data = Annotated[
    Path,
    typer.Argument(help="A table with the model's columns, or images of its shape (as for fit)."),
]
TableOutput = Annotated[
    Path, typer.Option("--output", "-o", help="Where to write (.csv or .parquet).")
]


def _version(value: bool):
    if value:
        typer.echo(f"aekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    sep: Sep = None,
    decimal: DecimalMark = None,
    na: MissingText = None,
    encoding: Encoding = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="CPU threads for torch (default: one a core). Give each of several "
            "jobs on one machine its share, e.g. --threads 1: threads that outnumber "
            "the cores make small fits several times slower.",
        ),
    ] = None,
):
    """Options for every command: e.g. aekit --sep ';' --decimal ',' impute in.csv -o out.csv"""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    _state["debug"] = debug
    _state["dialect"] = None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise typer.BadParameter(
                f"an encoding Python knows, e.g. utf-8, cp1252, latin-1; got {encoding!r}",
                param_hint="--encoding",
            ) from None
    if sep is not None or decimal is not None or na is not None or encoding is not None:
        from ..data.files import Dialect

        sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)  # backslash-t, as typed: a tab
        if sep is not None and (len(sep) != 1 or sep in '"\r\n'):
            raise typer.BadParameter(
                f"one character, e.g. ';', or '\\t' for tabs; got {sep!r}", param_hint="--sep"
            )
        if decimal is not None and decimal not in (".", ","):
            raise typer.BadParameter(f"'.' or ','; got {decimal!r}", param_hint="--decimal")
        # a separator given: decimal points unless told; none: both told by each file
        point = "." if sep is not None else None
        dialect = Dialect(sep, decimal or point, None if na is None else tuple(na), encoding)
        if dialect.sep is not None and dialect.sep == dialect.decimal:
            raise typer.BadParameter(
                f"the separator and the decimal mark are both {dialect.sep!r}",
                param_hint="--sep",
            )
        _state["dialect"] = dialect


def stderr() -> Console:
    """Messages go to stderr, unwrapped (paths stay whole for copy and paste); under
    torchrun only rank 0 speaks."""
    from ..distributed import is_main_process

    return Console(stderr=True, soft_wrap=True, quiet=not is_main_process())


def friendly(fn):
    """Turn aekit's errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                if not _state["debug"]:  # aekit's warnings said, as one line each
                    warnings.simplefilter("default", AekitWarning)
                    warnings.showwarning = _show_warning
                return fn(*args, **kwargs)
        except (AekitError, OSError) as exc:
            if _state["debug"]:
                raise
            message = " ".join(str(exc).split())  # one line, even for multi-line messages
            typer.echo(f"aekit: error: {message}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, AekitWarning):
        typer.echo(f"aekit: warning: {' '.join(str(message).split())}", err=True)
    else:
        typer.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True)


def _terminate(signum, frame):
    """SIGTERM (a job scheduler's stop, ``kill``) as an exit that unwinds: a file
    being written is removed, as on Ctrl-C."""
    raise SystemExit(128 + signum)


def is_images(data) -> bool:
    from ..data.schema import image_shape_of

    return image_shape_of(data) is not None


def check_grid(grid: Path | None, force: bool, *others: Path) -> None:
    """``--grid``: a new .png file, none of the other paths."""
    if grid is None:
        return
    from ..data.files import check_output

    check_output(grid, "any", force=force, inputs=others)
    if grid.suffix.lower() != ".png":
        raise AekitError(f"--grid {grid}: the grid is a .png file")


def check_resume(resume: bool, checkpoint_dir: Path | None) -> None:
    """Refuse ``--resume`` without ``--checkpoint-dir``, before any work."""
    if resume and checkpoint_dir is None:
        raise AekitError(
            "--resume needs --checkpoint-dir, the folder of the checkpoints to continue from"
        )


def check_apart(**paths: Path | None) -> None:
    """Refuse, before any work, two options that name the same path, or an output
    inside a folder another option fills (``--save-model``, ``--checkpoint-dir``):
    each would spoil the other after training."""
    given = {name: Path(p).resolve() for name, p in paths.items() if p is not None}
    for a, path in given.items():
        for b, other in given.items():
            if a != b and (path == other or other in path.parents):
                flag = "--" + b.replace("_", "-")
                raise AekitError(
                    f"--{a.replace('_', '-')} {paths[a]} is {'' if path == other else 'inside '}"
                    f"{flag} {paths[b]}; give them paths apart"
                )


def as_fitted(X, model, data: Path):
    """A table read from ``data`` with its columns in the order ``model`` was
    fitted on (a file's columns may come in any order); columns it lacks or
    does not know, and a table for a model of images, are refused naming them."""
    inner = getattr(model, "model_", model)  # a detector's model
    shape = getattr(inner, "image_shape_", None)
    if shape is not None and not is_images(X):
        raise AekitError(f"{data} holds a table; the model was fitted on images of shape {shape}")
    # a wrapper's columns: its model's and those it leaves out (empty in fit)
    names = getattr(model, "feature_names_in_", getattr(inner, "feature_names_in_", None))
    if names is None or not isinstance(X, pd.DataFrame):
        return X
    fitted, given = [str(n) for n in names], [str(c) for c in X.columns]
    missing = [n for n in fitted if n not in given]
    extra = [c for c in given if c not in fitted]
    if missing or extra:
        parts = [f"lacks the model's columns {missing}"] if missing else []
        parts += [f"has columns the model does not know {extra} (drop them)"] if extra else []
        raise AekitError(f"{data} " + " and ".join(parts))
    return X[list(names)]


def dialect():
    """The CSV dialect of ``aekit --sep S --decimal D``, or None: told from each file."""
    return _state["dialect"]


def load_model(model_dir: Path, *, need: str, est=None):
    """The fitted model in ``model_dir`` (or of ``est``, the estimator loaded from
    it); ``need`` is "detector", "model", "sampler" or "any" (the saved estimator
    itself)."""
    from ..estimators import VAE, AnomalyDetector, Imputer, load

    if not model_dir.is_dir():
        raise AekitError(f"model {model_dir}: no such directory (make one with `aekit fit`)")
    est = load(model_dir, device="cpu") if est is None else est
    if need == "detector":
        if not isinstance(est, AnomalyDetector):
            raise AekitError(
                f"model {model_dir} holds an estimator of type {type(est).__name__}, which "
                "has no anomaly threshold; make one with `aekit fit`"
            )
        return est
    if need == "any":
        return est
    model = est.model_ if isinstance(est, (AnomalyDetector, Imputer)) else est
    if need == "sampler" and not isinstance(model, VAE):
        raise AekitError(
            f"model {model_dir} holds an estimator of type {type(model).__name__}; only a "
            "VAE can sample new rows (aekit fit --model vae or tvae)"
        )
    return model


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    _state.update(debug=False, dialect=None)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        app(args=argv, prog_name="aekit")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return 0
