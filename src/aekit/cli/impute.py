"""``aekit impute``: fill the missing cells of a table or the missing pixels of images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from ..errors import AekitError
from .app import (
    CheckpointDir,
    ChunkRows,
    Force,
    Quiet,
    Resume,
    Seed,
    app,
    check_apart,
    check_grid,
    check_resume,
    dialect,
    friendly,
    is_images,
    stderr,
)


@app.command()
@friendly
def impute(
    input: Annotated[
        Path,
        typer.Argument(
            help="A table (CSV, Parquet; empty cells are missing) or images (.npy or IDX "
            "with NaN, or a folder of PNG files whose transparent pixels are missing)."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write: .csv or .parquet for a table; .npy, an IDX name or a "
            "folder (no suffix: PNG files) for images.",
        ),
    ],
    model: Annotated[
        str,
        typer.Option("--model", help="default, dae, vae, tvae or mnar (missing not at random)."),
    ] = "default",
    seed: Seed = 0,
    m: Annotated[
        int,
        typer.Option(
            "--m",
            min=1,
            help="Multiple imputations: m > 1 writes a long table with a .imp column "
            "(images: an .npy array of shape (m, n, ...)).",
        ),
    ] = 1,
    draws: Annotated[
        str,
        typer.Option(
            "--draws",
            help="With --m: how numbers are drawn, normal or pmm (predictive mean "
            "matching: each a value observed in its column).",
        ),
    ] = "normal",
    hide: Annotated[
        str | None,
        typer.Option(
            "--hide",
            help="Images only: hide pixels of complete images first (KIND:RATE, KIND pixels, "
            "blocks or patches), then impute them and report SSIM and PSNR against the "
            "originals.",
        ),
    ] = None,
    grid: Annotated[
        Path | None,
        typer.Option(
            "--grid", help="Images only: also draw a PNG of images with holes and imputed."
        ),
    ] = None,
    save_model: Annotated[
        Path | None,
        typer.Option("--save-model", help="Also save the fitted imputer to this directory."),
    ] = None,
    checkpoint_dir: CheckpointDir = None,
    resume: Resume = False,
    chunk_rows: ChunkRows = None,
    force: Force = False,
    quiet: Quiet = False,
):
    """Fill the missing cells of a table, or the missing pixels of images.

    Observed values are written unchanged.

    Example: aekit impute survey.csv -o survey-imputed.csv --model vae --seed 1

    Example: aekit impute digits.npy --hide blocks:0.25 -o filled.npy --grid grid.png

    Example: aekit impute big.parquet -o big-imputed.parquet --chunk-rows 100000

    Example: aekit impute survey.csv -o copies.csv --m 10 --draws pmm
    """
    from ..data.files import (
        as_written,
        cell_text,
        check_output,
        dialect_of,
        inspect_csv,
        parquet_types,
        read_data,
        write_data,
    )
    from ..data.images import hide_pixels
    from ..data.schema import as_frame, infer_schema
    from ..data.stream import TableFile
    from ..estimators import Imputer, save
    from ..estimators.copies import check_draws
    from ..estimators.presets import preset
    from ..io import check_model_dir

    check_resume(resume, checkpoint_dir)
    check_apart(output=output, save_model=save_model, checkpoint_dir=checkpoint_dir)
    check_output(output, force=force, inputs=[input])  # before reading or training
    if save_model is not None:
        check_model_dir(save_model)
    check_draws(draws, 5, preset(model, argument="--model"), argument="--draws")
    if draws != "normal" and m == 1:
        raise AekitError(f"--draws {draws} is for multiple imputations: give --m 2 or more")
    csv = dialect()
    if chunk_rows is not None:
        if m > 1 or hide is not None or grid is not None:
            raise AekitError(
                "--chunk-rows streams a table: it does not go with --m, --hide or --grid"
            )
        check_output(output, "table", force=force, inputs=[input])  # before training
        source = TableFile(input, chunk_rows, dialect=csv)
        imputer = Imputer(preset(model, argument="--model"), random_state=seed, verbose=not quiet)
        imputer.fit(source, checkpoint_dir=checkpoint_dir, resume=resume)
        n_missing = imputer.transform_file(source, output, force=force)
        truth = result = None
        images = False
    else:
        data = read_data(input, dialect=csv)
        images = is_images(data)
        check_output(output, "images" if images else "table", force=force, inputs=[input])
        check_grid(grid, force, input, output)
        if not images and (hide is not None or grid is not None):
            raise AekitError(
                f"--hide and --grid are for images; {input} holds a table "
                "(simulate missing cells in a table with aekit.ampute)"
            )
        truth = None
        if hide is not None:
            if np.isnan(data).any():
                raise AekitError(
                    f"--hide needs complete images; {input} has missing pixels already"
                )
            truth, data = data, hide_pixels(data, _hide(hide, data, seed))
        chosen = preset(model, data.shape[1:] if images else None, argument="--model")
        check_draws(draws, 5, chosen, argument="--draws", images=images)
        if images and m > 1 and output.suffix.lower() != ".npy":
            raise AekitError(f"output {output}: m > 1 imputations of images are written as .npy")
        if m > 1 and not images:
            _check_long_names(data, input)
        imputer = None  # no missing cell and no model to save: nothing to train
        if save_model is not None or (np.isnan(data) if images else pd.isna(data).to_numpy()).any():
            imputer = Imputer(chosen, random_state=seed, verbose=not quiet)
            imputer.fit(data, checkpoint_dir=checkpoint_dir, resume=resume)
        elif not images:
            # the columns read as a fit reads them: text among numbers (a marker of
            # missing cells pandas does not know?) is refused, not passed on as complete
            infer_schema(as_frame(data)[0])
        if images:
            n_missing = int(np.isnan(data).sum())
        elif imputer is None:
            n_missing = 0
        else:  # the cells of empty columns are passed through, not filled
            n_missing = int(pd.isna(imputer.empty_columns_.drop(data)).sum().sum())
        out_dialect = dialect_of(input, csv)
        written = None
        if not images and {input.suffix.lower(), output.suffix.lower()} == {".csv"}:
            # CSV to CSV: the observed cells and the header as the input wrote them
            header = inspect_csv(input, csv)[1]
            text = cell_text(input, out_dialect)
            # the empty columns, passed through, as written too (their missing-value markers)
            observed = data.notna().to_numpy()
            if imputer is not None:
                observed = imputer.empty_columns_.as_observed(observed)

            def written(table):
                return as_written(table, text, observed, header, out_dialect)

        result = _impute(imputer, data, m, images, written, draws)
        # a folder of PNG files to a folder: each image under its input's name and depth
        like = input if input.is_dir() and m == 1 else None
        types = parquet_types(input)  # a Parquet input's floats stay floats in CSV
        write_data(result, output, force=force, dialect=out_dialect, like=like, types=types)
        if grid is not None:
            from ..report import imputation_grid

            imputation_grid(data, result if m == 1 else result[0], truth, grid)
    if save_model is not None:
        save(imputer, save_model)
    if not quiet:
        _summary(imputer, input, output, n_missing, images, truth, result, grid)


LONG = (".imp", ".id")  # the columns that number the copies and the rows of long output


def _check_long_names(data: pd.DataFrame, input) -> None:
    """Refuse, before training, a table whose long output would name a column twice."""
    from ..data.files import keeps_index

    index = [n for n in data.index.names if n is not None] if keeps_index(data) else []
    taken = [str(n) for n in [*index, *data.columns] if str(n) in LONG]
    if taken:
        raise AekitError(
            f"--m writes a long table whose columns {list(LONG)} number the copies and "
            f"the rows; {input} has a column named {taken[0]!r}: rename it (a table "
            "written by --m is imputed already)"
        )


def _impute(imputer, data, m: int, images: bool, written=None, draws="normal"):
    """One completed table (or stack of images), or m of them: images as one array
    (m, n, ...), tables in long format (.imp 1..m and .id, the input's row number,
    before the data; then the input's index where it names rows, e.g. a Parquet
    file's stored ids). ``written``: what each table becomes (its text as the
    input CSV file wrote its cells). ``imputer`` None: the data has no missing
    cell, and each copy is the data itself."""
    from ..data.files import keeps_index

    if imputer is None:  # no missing cell: the input, m times
        copies = [data.copy() for _ in range(m)]
    elif m == 1:
        copies = [imputer.transform(data)]
    else:
        copies = imputer.multiple_imputations(data, m, draws=draws)
    if m == 1:
        return copies[0] if written is None else written(copies[0])
    if images:
        return np.stack(copies)
    if written is not None:
        copies = [written(c) for c in copies]
    return (
        pd.concat(
            [
                c.reset_index(drop=not keeps_index(c)).rename_axis(LONG[1]).reset_index()
                for c in copies
            ],
            keys=range(1, m + 1),
            names=[LONG[0], None],
        )
        .reset_index(level=0)
        .reset_index(drop=True)
    )


def _hide(spec: str, images: np.ndarray, seed: int) -> np.ndarray:
    """The mask of ``--hide KIND:RATE`` (see ``aekit.data.images.mask_images``)."""
    from ..data.images import MASK_KINDS, mask_images

    kind, _, rate = spec.partition(":")
    try:
        share = float(rate)
    except ValueError:
        share = None
    if kind not in MASK_KINDS or share is None or not 0 < share < 1:
        raise AekitError(
            f"--hide must be KIND:RATE with KIND one of {list(MASK_KINDS)} and RATE a share "
            f"in (0, 1), e.g. blocks:0.25; got {spec!r}"
        )
    return mask_images(images, kind, share, random_state=seed)


def _summary(imputer, input, output, n_missing, images, truth, result, grid):
    console = stderr()
    what = "pixels" if images else "cells"
    console.print(
        f"{input} has no missing {what}: written unchanged to {output}"
        if imputer is None
        else f"Imputed {n_missing} missing {what} of {input} -> {output}"
    )
    if grid is not None:
        console.print(f"Grid of images with holes and imputed: {grid}")
    if imputer is None:
        return
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
        from ..metrics import psnr, ssim

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
