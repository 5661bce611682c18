"""The ``aekit`` command line: a thin shell over the library.

``main(argv)`` returns the exit code: 0 on success, 2 on bad input (one
readable line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import AekitError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="aekit: autoencoders for imputation, denoising, anomaly detection and density estimation.",
)
_state = {"debug": False}


def _version(value: bool):
    if value:
        typer.echo(f"aekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
):
    _state["debug"] = debug


def _friendly(fn):
    """Turn aekit's errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (AekitError, OSError) as exc:
            if _state["debug"]:
                raise
            typer.echo(f"aekit: error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@_friendly
def demo(
    output_dir: Path = typer.Option(
        Path("demo-output"), "--output-dir", "-o", help="Where to write the figure."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    fast: bool = typer.Option(False, "--fast", help="A few epochs only (for tests)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Progress bars while training."),
):
    """Fit PCA, AE, DAE, VAE and t-VAE on the digits; print held-out scores; save a figure.

    Example: aekit demo -o demo-output
    """
    import pandas as pd

    from .demo import run_demo

    console = Console()
    console.print("Fitting PCA, AE, DAE, VAE and t-VAE on scikit-learn's digits (80/20 split)...")
    table, figure = run_demo(output_dir, fast=fast, seed=seed, verbose=verbose)
    out = Table(title="Held-out digits: reconstruction and density")
    for col in ("model", "RMSE (pixels 0-16)", "log-lik (nats/image)", "epochs", "fit (s)"):
        out.add_column(col, justify="left" if col == "model" else "right")
    for r in table.itertuples():
        out.add_row(
            r.model,
            f"{r.rmse:.3f}",
            "-" if pd.isna(r.loglik_nats) else f"{r.loglik_nats:.1f}",
            "-" if pd.isna(r.epochs) else str(int(r.epochs)),
            f"{r.fit_seconds:.1f}",
        )
    console.print(out)
    console.print(
        "log-lik: probabilistic PCA for PCA; importance-weighted bound (k=500) for the VAEs."
    )
    console.print(f"Figure of originals and reconstructions: {figure}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    _state["debug"] = False
    try:
        app(args=argv, prog_name="aekit")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
