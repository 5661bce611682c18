"""The ``aekit`` command line: a thin shell over the library.

``main(argv)`` returns the exit code: 0 on success, 2 on bad input (one
readable line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
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


def _stderr() -> Console:
    """Messages go to stderr, unwrapped (paths stay whole for copy and paste)."""
    return Console(stderr=True, soft_wrap=True)


def _friendly(fn):
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


@app.command()
@_friendly
def demo(
    output_dir: Path = typer.Option(
        Path("demo-output"), "--output-dir", "-o", help="Where to write the figure and report."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    fast: bool = typer.Option(False, "--fast", help="A few epochs only (for tests)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Progress bars while training."),
):
    """Fit PCA, AE, DAE, VAE and t-VAE on the digits and an imputer on the penguins;
    print held-out scores; write a figure and an HTML report.

    Example: aekit demo -o demo-output
    """
    from .demo import run_demo

    console = Console(soft_wrap=True)  # paths stay whole for copy and paste
    console.print("Fitting PCA, AE, DAE, VAE and t-VAE on scikit-learn's digits (80/20 split)...")
    table, figure, report_path, n_filled = run_demo(
        output_dir, fast=fast, seed=seed, verbose=verbose
    )
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
    console.print(f"Penguins: the default imputer filled the table's {n_filled} missing cells.")
    console.print(f"Report (open it in a browser): {report_path}")


@app.command()
@_friendly
def impute(
    input: Path = typer.Argument(..., help="CSV or Parquet file; empty cells are missing."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    model: str = typer.Option(
        "default", "--model", help="default, dae, vae, tvae or mnar (missing not at random)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    m: int = typer.Option(
        1, "--m", min=1, help="Multiple imputations: m > 1 writes a long table with a .imp column."
    ),
    save_model: Path | None = typer.Option(
        None, "--save-model", help="Also save the fitted imputer to this directory."
    ),
    checkpoint_dir: Path | None = typer.Option(
        None, "--checkpoint-dir", help="Save the training state here as it goes (atomic)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the state in --checkpoint-dir."
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
    imputer = Imputer(chosen, random_state=seed, verbose=not quiet).fit(
        df, checkpoint_dir=checkpoint_dir, resume=resume
    )
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
        console = _stderr()
        console.print(f"Imputed {n_missing} missing cells of {input} -> {output}")
        if imputer.expected_error_ is not None:
            errors = imputer.expected_error_.dropna()
            console.print("Expected error on held-out cells (over-imputation):")
            for r in errors.itertuples():
                console.print(f"  {r.column}: {r.metric} {r.value:.4g} ({r.n_cells} cells)")


# ------------------------------------------------------------ fit and use a model
MODELS = ("ae", "dae", "vae", "tvae")


def _task_model(name: str, latent_dim: int):
    """The models offered by ``aekit fit --model``."""
    from .estimators import VAE, Autoencoder

    common = dict(latent_dim=latent_dim, hidden_dims=(128, 64), max_epochs=300, patience=20)
    models = {
        "ae": lambda: Autoencoder(**common),
        "dae": lambda: Autoencoder(noise="masking", noise_level=0.25, mask_input=True, **common),
        "vae": lambda: VAE(**common),
        "tvae": lambda: VAE(prior="student-t", **common),
    }
    if name not in models:
        raise AekitError(f"--model must be one of {list(models)}; got {name!r}")
    return models[name]()


def _contamination(text: str):
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise AekitError(
            f"--contamination must be 'auto' or a number in (0, 0.5]; got {text!r}"
        ) from None


def _check_output(output: Path, force: bool, *inputs: Path) -> None:
    for path in inputs:
        if path.resolve() == output.resolve():
            raise AekitError("output must differ from the inputs; aekit never overwrites them")
    if output.exists() and not force:
        raise AekitError(f"output {output} exists; pass --force to overwrite it")


def _load(model_dir: Path, *, need: str):
    """The fitted model in ``model_dir``; ``need`` is "detector", "model", "sampler"
    or "any" (the saved estimator itself)."""
    from .estimators import VAE, AnomalyDetector, Imputer, load

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


@app.command()
@_friendly
def fit(
    data: Path = typer.Argument(..., help="CSV or Parquet file; empty cells are missing."),
    output: Path = typer.Option(..., "--output", "-o", help="Model directory to write."),
    model: str = typer.Option("vae", "--model", help="ae, dae, vae or tvae."),
    latent_dim: int | None = typer.Option(
        None, "--latent-dim", min=1, help="Size of the code [default: half the columns, at most 8]."
    ),
    contamination: str = typer.Option(
        "auto", "--contamination", help="'auto' (threshold from held-out rows) or a share."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    checkpoint_dir: Path | None = typer.Option(
        None, "--checkpoint-dir", help="Save the training state here as it goes (atomic)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the state in --checkpoint-dir."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
):
    """Train a model on a table and save it with its anomaly threshold.

    Example: aekit fit sensors.csv -o sensors-model --model vae

    With --checkpoint-dir the training state is saved every minute; if the run
    is interrupted, the same command with --resume continues where it stopped.
    """
    from .data.files import read_table
    from .estimators import AnomalyDetector, save

    _check_output(output, force, data)
    df = read_table(data)
    latent = latent_dim or max(1, min(8, df.shape[1] // 2))
    detector = AnomalyDetector(
        _task_model(model, latent),
        contamination=_contamination(contamination),
        random_state=seed,
        verbose=not quiet,
    ).fit(df, checkpoint_dir=checkpoint_dir, resume=resume)
    save(detector, output)
    if not quiet:
        flagged = float(np.mean(detector.predict(df) == -1))
        _stderr().print(
            f"Saved {model} ({latent}-d code, {detector.model_.n_epochs_} epochs) to {output}; "
            f"anomaly threshold {detector.offset_:.4g} nats flags {flagged:.1%} of the rows"
        )


@app.command()
@_friendly
def encode(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit`."),
    data: Path = typer.Argument(..., help="CSV or Parquet file with the model's columns."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
):
    """Write each row's latent code (columns latent0, latent1, ...).

    Example: aekit encode sensors-model sensors.csv -o codes.csv
    """
    from .data.files import read_table, write_table

    _check_output(output, force, data)
    est = _load(model_dir, need="model")
    codes = est.transform(read_table(data))
    write_table(pd.DataFrame(codes, columns=est.get_feature_names_out()), output, force=force)


@app.command()
@_friendly
def score(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit`."),
    data: Path = typer.Argument(..., help="CSV or Parquet file with the model's columns."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
):
    """Write each row's anomaly score (log-likelihood, nats; lower is stranger) and flag.

    Example: aekit score sensors-model new-readings.csv -o scores.csv
    """
    from .data.files import read_table, write_table

    _check_output(output, force, data)
    detector = _load(model_dir, need="detector")
    scores = detector.score_samples(read_table(data))
    flags = scores < detector.offset_
    write_table(pd.DataFrame({"score": scores, "anomaly": flags}), output, force=force)
    if not quiet:
        _stderr().print(f"{int(flags.sum())} of {len(flags)} rows flagged -> {output}")


@app.command()
@_friendly
def sample(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit` (a VAE)."),
    n: int = typer.Option(..., "-n", min=1, help="Number of rows to draw."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
):
    """Draw new rows from a VAE, with the training table's columns and categories.

    Example: aekit sample sensors-model -n 1000 -o synthetic.csv
    """
    from .data.files import write_table

    _check_output(output, force)
    model = _load(model_dir, need="sampler")
    rows = model.sample(n, random_state=seed)
    if not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(rows, columns=[c.name for c in model.encoder_.schema])
    write_table(rows, output, force=force)


@app.command()
@_friendly
def report(
    model_dir: Path = typer.Argument(
        ..., help="A model directory (aekit fit, impute --save-model)."
    ),
    data: Path | None = typer.Argument(
        None, help="Optional CSV or Parquet file: adds the latent map, reconstructions, scores."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The HTML file to write."),
    label: str | None = typer.Option(
        None, "--label", help="A column of DATA to colour the latent map by."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
):
    """Write one self-contained HTML report (figures embedded) about a saved model.

    Example: aekit report sensors-model sensors.csv -o report.html --label site
    """
    from .data.files import read_table
    from .report import Report

    if output.suffix.lower() not in (".html", ".htm"):
        raise AekitError(f"output {output}: a report is an .html file")
    _check_output(output, force, *([data] if data is not None else []))
    est = _load(model_dir, need="any")
    df = labels = None
    if data is not None:
        df = read_table(data)
        if label is not None:
            if label not in df.columns:
                raise AekitError(f"--label {label!r} is not a column of {data}")
            labels = df[label]
            fitted = getattr(est, "feature_names_in_", None)
            if fitted is not None and label not in list(fitted):
                df = df.drop(columns=label)
    elif label is not None:
        raise AekitError("--label needs DATA to colour the latent map")
    Report(f"aekit report: {model_dir.name}").add_model(type(est).__name__, est, df, labels).write(
        output
    )
    _stderr().print(f"Report written to {output}")


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
