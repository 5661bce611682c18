"""``aekit fit``, ``encode``, ``score``, ``sample``, ``report`` and ``demo``: train a
model and use it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from ..errors import AekitError
from .app import (
    CheckpointDir,
    ChunkRows,
    Data,
    Force,
    ModelDir,
    Quiet,
    Resume,
    Seed,
    TableOutput,
    app,
    as_fitted,
    check_apart,
    check_grid,
    check_resume,
    dialect,
    friendly,
    is_images,
    load_model,
    stderr,
)


@app.command()
@friendly
def fit(
    data: Annotated[
        Path,
        typer.Argument(help="A table (CSV, Parquet) or images (.npy, IDX, a folder of PNG files)."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model directory to write.")],
    model: Annotated[str, typer.Option("--model", help="ae, dae, vae or tvae.")] = "vae",
    latent_dim: Annotated[
        int | None,
        typer.Option(
            "--latent-dim",
            min=1,
            help="Size of the code (default: vae and tvae choose it on held-out rows; ae "
            "and dae take half the columns, at most 8; 16 for images).",
        ),
    ] = None,
    contamination: Annotated[
        str,
        typer.Option("--contamination", help="'auto' (threshold from held-out rows) or a share."),
    ] = "auto",
    scoring: Annotated[
        str,
        typer.Option(
            "--scoring",
            help="What a score measures: likelihood (of the row under the model), "
            "reconstruction (a Gaussian around the row's reconstruction), or auto: "
            "reconstruction for images, likelihood for tables.",
        ),
    ] = "auto",
    seed: Seed = 0,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    chunk_rows: ChunkRows = None,
    force: Force = False,
    quiet: Quiet = False,
):
    """Train a model on a table or on images and save it with its anomaly threshold.

    Example: aekit fit sensors.csv -o sensors-model --model vae

    With --checkpoint-dir the training state is saved every minute; if the run
    is interrupted, the same command with --resume continues where it stopped.
    With --chunk-rows the threshold comes from a sample of at most one chunk of rows.
    """
    from ..data.empty import EmptyColumns
    from ..data.files import check_output, read_data
    from ..data.stream import TableFile
    from ..data.table import as_table
    from ..estimators import AnomalyDetector, save
    from ..estimators.anomaly import SCORINGS
    from ..estimators.params import check_choice
    from ..estimators.presets import preset
    from ..io import check_model_dir

    check_choice("--scoring", scoring, SCORINGS)  # before reading the data
    check_output(output, "any", force=force, inputs=[data])
    check_model_dir(output)  # before training
    check_resume(resume, checkpoint_dir)
    check_apart(output=output, checkpoint_dir=checkpoint_dir)
    if chunk_rows is not None:  # a file's first pass is made once, here or in fit
        rows, images = as_table(TableFile(data, chunk_rows, dialect=dialect())), False
    else:
        rows = read_data(data, dialect=dialect())
        images = is_images(rows)
    if latent_dim or images:
        sizes = {"latent_dim": latent_dim or 16}
    elif model in ("vae", "tvae"):
        sizes = {}  # chosen on held-out rows, as VAE()'s
    else:  # half the columns the model gets: not those without a value (left out)
        table = as_table(rows)
        width = len(table.columns) - len(EmptyColumns.of(table).positions)
        sizes = {"latent_dim": max(1, min(8, width // 2))}
    shape = rows.shape[1:] if images else None
    chosen = preset(model, shape, task="model", argument="--model", **sizes)
    detector = AnomalyDetector(
        chosen,
        contamination=_contamination(contamination),
        scoring=scoring,
        random_state=seed,
        verbose=not quiet,
    ).fit(rows, checkpoint_dir=checkpoint_dir, resume=resume)
    save(detector, output)
    if not quiet:
        shown, which = (next(rows.chunks()), "first chunk") if chunk_rows else (rows, "rows")
        flagged = float(np.mean(detector.predict(shown) == -1))
        fitted = detector.model_
        latent = getattr(fitted, "latent_dim_", fitted.latent_dim)
        stderr().print(
            f"Saved {model} ({latent}-d code, {fitted.n_epochs_} epochs) to {output}; "
            f"anomaly threshold {detector.offset_:.4g} nats flags {flagged:.1%} of the {which}"
        )


def _contamination(text: str):
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise AekitError(
            f"--contamination must be 'auto' or a number in (0, 0.5]; got {text!r}"
        ) from None


@app.command()
@friendly
def encode(
    model_dir: ModelDir,
    data: Data,
    output: TableOutput,
    force: Force = False,
    quiet: Quiet = False,  # it prints nothing but errors: taken as the other commands take it
):
    """Write each row's latent code (columns latent0, latent1, ...).

    Example: aekit encode sensors-model sensors.csv -o codes.csv
    """
    from ..data.files import check_output, dialect_of, read_data, write_table

    check_output(output, "table", force=force, inputs=[data])
    saved = load_model(model_dir, need="any")
    est = getattr(saved, "model_", saved)  # a detector's or an imputer's model
    csv = dialect()
    X = as_fitted(read_data(data, dialect=csv), saved, data)
    if getattr(saved, "empty_columns_", None):  # columns the model never saw
        X = saved.empty_columns_.drop(X)
    codes = pd.DataFrame(
        est.transform(X), columns=est.get_feature_names_out(), index=_rows_of(X, data)
    )
    write_table(codes, output, force=force, dialect=dialect_of(data, csv))


def _rows_of(X, data: Path):
    """What names the rows of an output: a table's index (a Parquet file's stored
    ids), or a PNG folder's file names (read in the order of their names)."""
    if isinstance(X, pd.DataFrame):
        return X.index
    if data.is_dir():
        from ..data.images import png_files

        return pd.Index([p.name for p in png_files(data)], name="file")
    return None


@app.command()
@friendly
def score(
    model_dir: ModelDir,
    data: Data,
    output: TableOutput,
    force: Force = False,
    quiet: Quiet = False,
):
    """Write each row's anomaly score (log-likelihood, nats; lower is stranger) and flag.

    Example: aekit score sensors-model new-readings.csv -o scores.csv
    """
    from ..data.files import check_output, dialect_of, read_data, write_table

    check_output(output, "table", force=force, inputs=[data])
    detector = load_model(model_dir, need="detector")
    csv = dialect()
    X = as_fitted(read_data(data, dialect=csv), detector, data)
    scores = detector.score_samples(X)
    flags = scores < detector.offset_
    rows = pd.DataFrame({"score": scores, "anomaly": flags}, index=_rows_of(X, data))
    write_table(rows, output, force=force, dialect=dialect_of(data, csv))
    if not quiet:
        stderr().print(f"{int(flags.sum())} of {len(flags)} rows flagged -> {output}")


@app.command()
@friendly
def sample(
    model_dir: Annotated[Path, typer.Argument(help="A model directory from `aekit fit` (a VAE).")],
    n: Annotated[int, typer.Option("-n", min=1, help="Number of rows (or images) to draw.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write: .csv or .parquet; for images also .npy, an IDX name or a "
            "folder (no suffix: PNG files).",
        ),
    ],
    seed: Seed = 0,
    grid: Annotated[
        Path | None,
        typer.Option("--grid", help="Images only: also draw the first 30 as a PNG grid."),
    ] = None,
    force: Force = False,
    quiet: Quiet = False,  # it prints nothing but errors: taken as the other commands take it
):
    """Draw new rows from a VAE (or new images, for a VAE fitted on images).

    The rows have the training table's columns and categories.

    Example: aekit sample sensors-model -n 1000 -o synthetic.csv
    """
    from ..data.files import check_output, write_data

    est = load_model(model_dir, need="any")
    model = load_model(model_dir, need="sampler", est=est)
    empty = getattr(est, "empty_columns_", None)  # a detector's: drawn missing, in place
    images = model.image_shape_ is not None
    check_output(output, "images" if images else "table", force=force)
    check_grid(grid, force, output)
    if grid is not None and not images:
        raise AekitError(f"--grid draws images; model {model_dir} was fitted on a table")
    if not images:  # a table: drawn and written a piece at a time (any number of rows)
        from ..data.stream import write_chunks

        names = [c.name for c in model.encoder_.schema]
        pieces = model.sample_chunks(n, random_state=seed)
        frames = (
            p if isinstance(p, pd.DataFrame) else pd.DataFrame(p, columns=names) for p in pieces
        )
        write_chunks((empty.missing_in(f) if empty else f for f in frames), output, force=force)
        return
    rows = model.sample(n, random_state=seed)
    write_data(rows, output, force=force)
    if grid is not None:
        from ..report import image_rows

        image_rows(rows[:30], grid)


@app.command()
@friendly
def report(
    model_dir: Annotated[
        Path, typer.Argument(help="A model directory (aekit fit, impute --save-model).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Optional table or images (as for fit): adds the latent map, "
            "reconstructions, scores, and for images the imputations."
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="A column of DATA to colour the latent map by.")
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
):
    """Write one self-contained HTML report (figures embedded) about a saved model.

    Example: aekit report sensors-model sensors.csv -o report.html --label site
    """
    from ..data.files import check_output, read_data
    from ..report import Report

    if output.suffix.lower() not in (".html", ".htm"):
        raise AekitError(f"output {output}: a report is an .html file")
    check_output(output, "any", force=force, inputs=[] if data is None else [data])
    est = load_model(model_dir, need="any")
    df = labels = None
    if data is not None:
        df = read_data(data, dialect=dialect())
        if label is not None and is_images(df):
            raise AekitError("--label names a column of a table; DATA holds images")
        if label is not None:
            if label not in df.columns:
                raise AekitError(f"--label {label!r} is not a column of {data}")
            labels = df[label]
            fitted = getattr(est, "feature_names_in_", None)  # a wrapper's: its empty ones too
            if fitted is not None and label not in list(fitted):
                df = df.drop(columns=label)
    elif label is not None:
        raise AekitError("--label needs DATA to colour the latent map")
    if df is not None and not hasattr(est, "models_"):  # a model or detector, not an imputer
        df = as_fitted(df, est, data)
    title = f"aekit report: {model_dir.name}"
    Report(title).add_model(type(est).__name__, est, df, labels).write(output)
    if not quiet:
        stderr().print(f"Report written to {output}")


@app.command()
@friendly
def demo(
    output_dir: Annotated[
        Path,
        typer.Option("--output-dir", "-o", help="Where to write the figure and report."),
    ] = Path("demo-output"),
    seed: Seed = 0,
    fast: Annotated[bool, typer.Option("--fast", help="A few epochs only (for tests).")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Progress bars while training.")
    ] = False,
):
    """Fit PCA, AE, DAE, VAE and t-VAE on the digits, and imputers on two data sets.

    The imputers fill the penguins and digits with missing blocks; the scores are
    printed, and figures and an HTML report written.

    Example: aekit demo -o demo-output
    """
    from ..demo import run_demo

    console = Console(soft_wrap=True)  # paths stay whole for copy and paste
    console.print(
        "Fitting PCA, AE, DAE, VAE and t-VAE on scikit-learn's digits (80/20 split), then "
        "the default imputer on the penguins and on the digits with a 4x4 block missing "
        "(one convolutional DAE of the default's three: about a minute on a CPU)..."
    )
    table, figure, report_path, n_filled, images = run_demo(
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
    console.print(
        f"Digits with a 4x4 block missing: SSIM {images['aekit']:.3f} after imputation "
        f"(mean-pixel imputation {images['mean']:.3f}); figure: {images['grid']}"
    )
    console.print(f"Report (open it in a browser): {report_path}")
