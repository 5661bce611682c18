"""The ``aekit`` command line: a thin shell over the library.

``main(argv)`` returns the exit code: 0 on success, 2 on bad input (one
readable line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pandas as pd
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


@app.command()
@_friendly
def impute(
    input: Path = typer.Argument(..., help="CSV or Parquet file; empty cells are missing."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    model: str = typer.Option(
        "default", "--model", help="default, dae, vae, tvae or mnar (missing not at random)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    m: int = typer.Option(
        1, "--m", min=1, help="Multiple imputations: m > 1 writes a long table with a .imp column."
    ),
    save_model: Path | None = typer.Option(
        None, "--save-model", help="Also save the fitted imputer to this directory."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
):
    """Fill the missing cells of a table; observed cells are written unchanged.

    Example: aekit impute survey.csv -o survey-imputed.csv --model vae --seed 1
    """
    from .data.files import read_table, write_table
    from .estimators.impute import Imputer, preset

    if input.resolve() == output.resolve():
        raise AekitError("output must differ from input; aekit never overwrites its input")
    if output.exists() and not force:
        raise AekitError(f"output {output} exists; pass --force to overwrite it")
    chosen = preset(model)
    if m > 1 and not (chosen is not None and hasattr(chosen, "sample")):
        raise AekitError("--m > 1 needs a model that can draw imputations: vae, tvae or mnar")
    df = read_table(input)
    n_missing = int(df.isna().sum().sum())
    imputer = Imputer(chosen, random_state=seed, verbose=not quiet).fit(df)
    if m == 1:
        result = imputer.transform(df)
    else:
        copies = imputer.multiple_imputations(df, m)
        # long format: .imp (1..m) and .id (row number in the input) before the data
        result = pd.concat(
            [c.reset_index(drop=True).rename_axis(".id").reset_index() for c in copies],
            keys=range(1, m + 1),
            names=[".imp", None],
        ).reset_index(level=0)
    write_table(result, output, force=force)
    if save_model is not None:
        from .estimators.persist import save

        save(imputer, save_model)
    if not quiet:
        console = Console(stderr=True)
        console.print(f"Imputed {n_missing} missing cells of {input} -> {output}")
        if imputer.expected_error_ is not None:
            errors = imputer.expected_error_.dropna()
            console.print("Expected error on held-out cells (over-imputation):")
            for r in errors.itertuples():
                console.print(f"  {r.column}: {r.metric} {r.value:.4g} ({r.n_cells} cells)")


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
