"""The ``aekit`` application: its root options, the error handling every command
shares, and the options and arguments several commands declare alike.

Commands import the library inside their functions, so that ``aekit --help``
answers without loading torch.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..errors import AekitError
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
):
    """Options for every command: e.g. aekit --sep ';' --decimal ',' impute in.csv -o out.csv"""
    _state["debug"] = debug
    _state["dialect"] = None
    if sep is not None or decimal is not None:
        from ..data.files import PLAIN, Dialect

        _state["dialect"] = Dialect(sep or PLAIN.sep, decimal or PLAIN.decimal)


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
            return fn(*args, **kwargs)
        except (AekitError, OSError) as exc:
            if _state["debug"]:
                raise
            message = " ".join(str(exc).split())  # one line, even for multi-line messages
            typer.echo(f"aekit: error: {message}", err=True)
            raise typer.Exit(2) from None

    return wrapper


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


def dialect():
    """The CSV dialect of ``aekit --sep S --decimal D``, or None: told from each file."""
    return _state["dialect"]


def load_model(model_dir: Path, *, need: str):
    """The fitted model in ``model_dir``; ``need`` is "detector", "model", "sampler"
    or "any" (the saved estimator itself)."""
    from ..estimators import VAE, AnomalyDetector, Imputer, load

    if not model_dir.is_dir():
        raise AekitError(f"model {model_dir}: no such directory (make one with `aekit fit`)")
    est = load(model_dir, device="cpu")
    if need == "detector":
        if not isinstance(est, AnomalyDetector):
            raise AekitError(
                f"model {model_dir} holds a {type(est).__name__}, which has no anomaly "
                "threshold; make one with `aekit fit`"
            )
        return est
    if need == "any":
        return est
    model = est.model_ if isinstance(est, (AnomalyDetector, Imputer)) else est
    if need == "sampler" and not isinstance(model, VAE):
        raise AekitError(
            f"model {model_dir} holds a {type(model).__name__}; only a VAE can sample new "
            "rows (aekit fit --model vae or tvae)"
        )
    return model


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    _state.update(debug=False, dialect=None)
    try:
        app(args=argv, prog_name="aekit")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
