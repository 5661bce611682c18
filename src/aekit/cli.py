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
    """Messages go to stderr, unwrapped (paths stay whole for copy and paste); under
    torchrun only rank 0 speaks."""
    from .distributed import is_main_process

    return Console(stderr=True, soft_wrap=True, quiet=not is_main_process())


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
    """Fit PCA, AE, DAE, VAE and t-VAE on the digits, and imputers on the penguins
    and on digits with missing blocks; print the scores; write figures and an HTML report.

    Example: aekit demo -o demo-output
    """
    from .demo import run_demo

    console = Console(soft_wrap=True)  # paths stay whole for copy and paste
    console.print(
        "Fitting PCA, AE, DAE, VAE and t-VAE on scikit-learn's digits (80/20 split), then "
        "the default imputer on the penguins and on the digits with a 4x4 block missing "
        "(three convolutional DAEs: a few minutes on a CPU)..."
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


def _is_images(data) -> bool:
    from .data.schema import image_shape_of

    return image_shape_of(data) is not None


def _check_grid(grid: Path | None, force: bool, *others: Path) -> None:
    """``--grid``: a new .png file, none of the other paths."""
    if grid is None:
        return
    _check_output(grid, force, *others)
    if grid.suffix.lower() != ".png":
        raise AekitError(f"--grid {grid}: the grid is a .png file")


def _hide(spec: str, images: np.ndarray, seed: int) -> np.ndarray:
    """The mask of ``--hide KIND:RATE`` (see ``aekit.data.images.mask_images``)."""
    from .data.images import MASK_KINDS, mask_images

    kind, _, rate = spec.partition(":")
    try:
        share = float(rate)
    except ValueError:
        share = None
    if kind not in MASK_KINDS or share is None:
        raise AekitError(
            f"--hide must be KIND:RATE with KIND one of {list(MASK_KINDS)} and RATE a share "
            f"in (0, 1), e.g. blocks:0.25; got {spec!r}"
        )
    return mask_images(images, kind, share, random_state=seed)


@app.command()
@_friendly
def impute(
    input: Path = typer.Argument(
        ...,
        help="A table (CSV, Parquet; empty cells are missing) or images (.npy or IDX with "
        "NaN, or a folder of PNG files whose transparent pixels are missing).",
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Where to write: .csv or .parquet for a table; .npy, an IDX name or a folder "
        "(no suffix: PNG files) for images.",
    ),
    model: str = typer.Option(
        "default", "--model", help="default, dae, vae, tvae or mnar (missing not at random)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    m: int = typer.Option(
        1,
        "--m",
        min=1,
        help="Multiple imputations: m > 1 writes a long table with a .imp column (images: "
        "an .npy array of shape (m, n, ...)).",
    ),
    hide: str | None = typer.Option(
        None,
        "--hide",
        help="Images only: hide pixels of complete images first (KIND:RATE, KIND pixels, "
        "blocks or patches), then impute them and report SSIM and PSNR against the originals.",
    ),
    grid: Path | None = typer.Option(
        None, "--grid", help="Images only: also draw a PNG of images with holes and imputed."
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
    chunk_rows: int | None = typer.Option(
        None,
        "--chunk-rows",
        min=1,
        help="Tables only: stream the file this many rows at a time (for tables larger "
        "than memory); training and imputation hold one chunk in memory.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
):
    """Fill the missing cells of a table, or the missing pixels of images; observed
    values are written unchanged.

    Example: aekit impute survey.csv -o survey-imputed.csv --model vae --seed 1

    Example: aekit impute digits.npy --hide blocks:0.25 -o filled.npy --grid grid.png

    Example: aekit impute big.parquet -o big-imputed.parquet --chunk-rows 100000
    """
    from .data.files import check_output, read_data, write_data
    from .data.images import hide_pixels
    from .estimators.impute import Imputer, preset

    if input.resolve() == output.resolve():
        raise AekitError("output must differ from input; aekit never overwrites its input")
    _check_output(output, force)
    _check_grid(grid, force, input, output)
    if chunk_rows is not None:
        if m > 1 or hide is not None or grid is not None:
            raise AekitError(
                "--chunk-rows streams a table: it does not go with --m, --hide or --grid"
            )
        _impute_stream(
            input, output, model, seed, chunk_rows, save_model, checkpoint_dir, resume, force, quiet
        )
        return
    data = read_data(input)
    images = _is_images(data)
    check_output(output, images=images)  # before training, not after
    if not images and (hide is not None or grid is not None):
        raise AekitError(
            f"--hide and --grid are for images; {input} holds a table "
            "(simulate missing cells in a table with aekit.ampute)"
        )
    truth = None
    if hide is not None:
        if np.isnan(data).any():
            raise AekitError(f"--hide needs complete images; {input} has missing pixels already")
        truth, data = data, hide_pixels(data, _hide(hide, data, seed))
    chosen = preset(model, data.shape[1:] if images else None)
    if m > 1 and not (chosen is not None and hasattr(chosen, "sample")):
        raise AekitError("--m > 1 needs a model that can draw imputations: vae, tvae or mnar")
    if images and m > 1 and output.suffix.lower() != ".npy":
        raise AekitError(f"output {output}: m > 1 imputations of images are written as .npy")
    n_missing = int(pd.isna(data).sum().sum()) if not images else int(np.isnan(data).sum())
    imputer = Imputer(chosen, random_state=seed, verbose=not quiet).fit(
        data, checkpoint_dir=checkpoint_dir, resume=resume
    )
    if m == 1:
        result = imputer.transform(data)
    elif images:
        result = np.stack(imputer.multiple_imputations(data, m))  # (m, n, ...)
    else:
        copies = imputer.multiple_imputations(data, m)
        # long format: .imp (1..m) and .id (row number in the input) before the data
        result = pd.concat(
            [c.reset_index(drop=True).rename_axis(".id").reset_index() for c in copies],
            keys=range(1, m + 1),
            names=[".imp", None],
        ).reset_index(level=0)
    write_data(result, output, force=force)
    if grid is not None:
        from .report import imputation_grid

        first = result if m == 1 else result[0]
        imputation_grid(data, first, truth, grid)
    if save_model is not None:
        from .estimators.persist import save

        save(imputer, save_model)
    if not quiet:
        _imputation_summary(imputer, input, output, n_missing, images, truth, result, grid)


def _impute_stream(
    input, output, model, seed, chunk_rows, save_model, checkpoint_dir, resume, force, quiet
):
    """``aekit impute --chunk-rows``: fit on the file in chunks, impute it in chunks."""
    from .data.stream import TableFile, check_output
    from .estimators.impute import Imputer, preset

    source = TableFile(input, chunk_rows)
    check_output(output, source, force=force)  # before training, not after
    imputer = Imputer(preset(model), random_state=seed, verbose=not quiet).fit(
        source, checkpoint_dir=checkpoint_dir, resume=resume
    )
    n_missing = imputer.transform_file(source, output, force=force)
    if save_model is not None:
        from .estimators.persist import save

        save(imputer, save_model)
    if not quiet:
        _imputation_summary(imputer, input, output, n_missing, False, None, None, None)


def _imputation_summary(imputer, input, output, n_missing, images, truth, result, grid):
    console = _stderr()
    what = "pixels" if images else "cells"
    console.print(f"Imputed {n_missing} missing {what} of {input} -> {output}")
    if grid is not None:
        console.print(f"Grid of images with holes and imputed: {grid}")
    errors = imputer.expected_error_
    if errors is not None and images:
        rmse = errors.dropna()
        mean = float(np.sqrt(np.average(rmse["value"] ** 2, weights=rmse["n_cells"])))
        console.print(
            f"Expected error on held-out pixels (over-imputation): RMSE {mean:.4g} "
            f"({int(rmse['n_cells'].sum())} pixels)"
        )
    elif errors is not None:
        console.print("Expected error on held-out cells (over-imputation):")
        for r in errors.dropna().itertuples():
            console.print(f"  {r.column}: {r.metric} {r.value:.4g} ({r.n_cells} cells)")
    if truth is not None:
        from .metrics import psnr, ssim

        filled = result if result.ndim == truth.ndim else result[0]
        peak = float(np.mean(psnr(truth, filled, data_range=1.0)))
        side = min(truth.shape[-2:])
        if side < 3:
            console.print(f"Against the originals: PSNR {peak:.2f} dB (mean)")
            return
        window = min(7, side if side % 2 else side - 1)  # 7x7, or what fits the images
        ours = float(np.mean(ssim(truth, filled, data_range=1.0, win_size=window)))
        console.print(
            f"Against the originals: SSIM {ours:.4f} ({window}x{window} window), "
            f"PSNR {peak:.2f} dB (means)"
        )


# ------------------------------------------------------------ fit and use a model
MODELS = ("ae", "dae", "vae", "tvae")


def _task_model(name: str, latent_dim: int, images: bool = False):
    """The models offered by ``aekit fit --model`` (for images, with the imputer's
    image networks)."""
    from .estimators import VAE, Autoencoder
    from .estimators.base import IMAGE_NETWORKS

    common = dict(hidden_dims=(128, 64), max_epochs=300, patience=20)
    if images:
        common.update(IMAGE_NETWORKS)
    common["latent_dim"] = latent_dim
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
    data: Path = typer.Argument(
        ..., help="A table (CSV, Parquet) or images (.npy, IDX, a folder of PNG files)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Model directory to write."),
    model: str = typer.Option("vae", "--model", help="ae, dae, vae or tvae."),
    latent_dim: int | None = typer.Option(
        None,
        "--latent-dim",
        min=1,
        help="Size of the code [default: half the columns, at most 8; 16 for images].",
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
    chunk_rows: int | None = typer.Option(
        None,
        "--chunk-rows",
        min=1,
        help="Tables only: stream the file this many rows at a time (for tables larger "
        "than memory); the threshold comes from a sample of at most one chunk of rows.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
):
    """Train a model on a table or on images and save it with its anomaly threshold.

    Example: aekit fit sensors.csv -o sensors-model --model vae

    With --checkpoint-dir the training state is saved every minute; if the run
    is interrupted, the same command with --resume continues where it stopped.
    """
    from .data.files import read_data
    from .data.stream import TableFile
    from .estimators import AnomalyDetector, save

    _check_output(output, force, data)
    if chunk_rows is not None:
        df = TableFile(data, chunk_rows)
        images, width = False, len(next(df.chunks()).columns)
    else:
        df = read_data(data)
        images = _is_images(df)
        width = df.shape[1]
    latent = latent_dim or (16 if images else max(1, min(8, width // 2)))
    detector = AnomalyDetector(
        _task_model(model, latent, images),
        contamination=_contamination(contamination),
        random_state=seed,
        verbose=not quiet,
    ).fit(df, checkpoint_dir=checkpoint_dir, resume=resume)
    save(detector, output)
    if not quiet:
        if chunk_rows is not None:
            flagged, which = (
                float(np.mean(detector.predict(next(df.chunks())) == -1)),
                "first chunk",
            )
        else:
            flagged, which = float(np.mean(detector.predict(df) == -1)), "rows"
        _stderr().print(
            f"Saved {model} ({latent}-d code, {detector.model_.n_epochs_} epochs) to {output}; "
            f"anomaly threshold {detector.offset_:.4g} nats flags {flagged:.1%} of the {which}"
        )


@app.command()
@_friendly
def encode(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit`."),
    data: Path = typer.Argument(
        ..., help="A table with the model's columns, or images of its shape (as for fit)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
):
    """Write each row's latent code (columns latent0, latent1, ...).

    Example: aekit encode sensors-model sensors.csv -o codes.csv
    """
    from .data.files import read_data, write_table

    _check_output(output, force, data)
    est = _load(model_dir, need="model")
    codes = est.transform(read_data(data))
    write_table(pd.DataFrame(codes, columns=est.get_feature_names_out()), output, force=force)


@app.command()
@_friendly
def score(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit`."),
    data: Path = typer.Argument(
        ..., help="A table with the model's columns, or images of its shape (as for fit)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write (.csv or .parquet)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
):
    """Write each row's anomaly score (log-likelihood, nats; lower is stranger) and flag.

    Example: aekit score sensors-model new-readings.csv -o scores.csv
    """
    from .data.files import read_data, write_table

    _check_output(output, force, data)
    detector = _load(model_dir, need="detector")
    scores = detector.score_samples(read_data(data))
    flags = scores < detector.offset_
    write_table(pd.DataFrame({"score": scores, "anomaly": flags}), output, force=force)
    if not quiet:
        _stderr().print(f"{int(flags.sum())} of {len(flags)} rows flagged -> {output}")


@app.command()
@_friendly
def sample(
    model_dir: Path = typer.Argument(..., help="A model directory from `aekit fit` (a VAE)."),
    n: int = typer.Option(..., "-n", min=1, help="Number of rows (or images) to draw."),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Where to write: .csv or .parquet; for images also .npy, an IDX name or a "
        "folder (no suffix: PNG files).",
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed."),
    grid: Path | None = typer.Option(
        None, "--grid", help="Images only: also draw the first 30 as a PNG grid."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
):
    """Draw new rows from a VAE, with the training table's columns and categories
    (or new images, for a VAE fitted on images).

    Example: aekit sample sensors-model -n 1000 -o synthetic.csv
    """
    from .data.files import check_output, write_data

    _check_output(output, force)
    model = _load(model_dir, need="sampler")
    check_output(output, images=model.image_shape_ is not None)
    _check_grid(grid, force, output)
    if grid is not None and model.image_shape_ is None:
        raise AekitError(f"--grid draws images; model {model_dir} was fitted on a table")
    rows = model.sample(n, random_state=seed)
    if model.image_shape_ is None and not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(rows, columns=[c.name for c in model.encoder_.schema])
    write_data(rows, output, force=force)
    if grid is not None:
        from .report import image_rows

        image_rows(rows[:30], grid)


@app.command()
@_friendly
def report(
    model_dir: Path = typer.Argument(
        ..., help="A model directory (aekit fit, impute --save-model)."
    ),
    data: Path | None = typer.Argument(
        None,
        help="Optional table or images (as for fit): adds the latent map, reconstructions, "
        "scores, and for images the imputations.",
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
    from .data.files import read_data
    from .report import Report

    if output.suffix.lower() not in (".html", ".htm"):
        raise AekitError(f"output {output}: a report is an .html file")
    _check_output(output, force, *([data] if data is not None else []))
    est = _load(model_dir, need="any")
    df = labels = None
    if data is not None:
        df = read_data(data)
        if label is not None and _is_images(df):
            raise AekitError("--label names a column of a table; DATA holds images")
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
