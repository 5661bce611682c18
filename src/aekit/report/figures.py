"""Figures of fitted models: training curves, the latent space,
reconstructions, imputation errors and diagnostics (:mod:`.diagnostics`),
anomaly scores, and image grids of reconstructions and samples. Each takes a
fitted estimator (and data where the figure needs it) and returns a matplotlib
``Figure``; :func:`figures` gives every one that applies, :func:`save_figures`
writes them as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from ..data.tabular import numbers
from ..errors import AekitError
from ..estimators import AnomalyDetector, Imputer
from ..estimators.base import BaseAutoencoderEstimator
from .diagnostics import imputation_trace, imputed_distributions, missingness_pattern
from .draw import image_grid, image_rows, imputation_grid, subplots, write_png


def parts_of(model):
    """(autoencoder models, the detector or None, the imputer or None)."""
    if isinstance(model, Imputer):
        return list(model.models_), None, model
    if isinstance(model, AnomalyDetector):
        return [model.model_], model, None
    if isinstance(model, BaseAutoencoderEstimator):
        return [model], None, None
    raise AekitError(f"a report needs a fitted aekit estimator; got {type(model).__name__}")


def image_model(model):
    """The first autoencoder of ``model`` if it was fitted on images, else None."""
    models, _, _ = parts_of(model)
    return models[0] if getattr(models[0], "image_shape_", None) is not None else None


def sample_grid(model, path=None, *, n: int = 30, per_row: int = 10, random_state=0):
    """New images drawn from a VAE fitted on images (``n`` of them, ``per_row``
    to a row). Write the PNG to ``path`` and return it, or return the figure."""
    vae = image_model(model)
    if vae is None or not hasattr(vae, "sample"):
        raise AekitError("a grid of samples needs a VAE fitted on images")
    return image_rows(vae.sample(n, random_state=random_state), path, per_row=per_row)


def reconstruction_grid(model, X, path=None, *, n: int = 10):
    """The first ``n`` images of X above the model's reconstructions of them."""
    m = image_model(model)
    if m is None:
        raise AekitError("a grid of reconstructions needs a model fitted on images")
    images = np.asarray(X)[:n]
    rows = [images, np.asarray(m.reconstruct(images))]
    return image_grid(rows, ["image", "reconstruction"], path, vmin=0, vmax=1, cmap="gray")


def training_curves(model):
    """Loss per epoch on the training rows and, where held out, on validation rows
    (and the early-stopping monitor, e.g. an imputer's error on held-out cells)."""
    models, _, _ = parts_of(model)
    monitored = [m for m in models if "val_monitor" in m.history_]
    fig, axes = subplots(1, 2 if monitored else 1, figsize=(9 if monitored else 5, 3.2))
    axes = np.atleast_1d(axes)
    for i, m in enumerate(models):
        h = m.history_.reset_index(drop=True)
        x = np.arange(1, len(h) + 1)
        suffix = f" (model {i + 1})" if len(models) > 1 else ""
        axes[0].plot(x, h["train_loss"], color=f"C{i}", label=f"training{suffix}")
        if "val_loss" in h:
            axes[0].plot(x, h["val_loss"], color=f"C{i}", ls="--", label=f"validation{suffix}")
        if monitored and "val_monitor" in h:
            axes[1].plot(x, h["val_monitor"], color=f"C{i}", label=f"model {i + 1}")
        if "best" in h and h["best"].any():
            axes[0].axvline(x[h["best"].to_numpy()][-1], color=f"C{i}", lw=0.8, alpha=0.5)
    axes[0].set(xlabel="epoch", ylabel="loss (negative log-likelihood per row)")
    axes[0].legend(fontsize=8)
    if monitored:
        axes[1].set(xlabel="epoch", ylabel="error on held-out cells")
        axes[1].legend(fontsize=8)
    fig.suptitle("Training (vertical lines: the epochs whose weights were kept)", fontsize=10)
    fig.tight_layout()
    return fig


def latent_map(model, X, labels=None):
    """The rows' codes in 2-D: the first two latent dimensions, or the first two
    principal components of the codes when there are more; coloured by ``labels``."""
    models, _, _ = parts_of(model)
    codes = np.asarray(models[0].transform(X), dtype=np.float64)
    axes_names = ("latent 0", "latent 1")
    if codes.shape[1] > 2 and len(codes) > 2:  # PCA needs rows to find directions in
        codes = PCA(2).fit_transform(codes)
        axes_names = ("PC 1 of the codes", "PC 2 of the codes")
    elif codes.shape[1] > 2:
        codes = codes[:, :2]
    elif codes.shape[1] == 1:
        codes = np.c_[codes, np.zeros(len(codes))]
        axes_names = ("latent 0", "")
    fig, ax = subplots(figsize=(5.5, 4.5))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=6, alpha=0.6)
    else:
        labels = pd.Series(np.asarray(labels)).reset_index(drop=True)
        if len(labels) != len(codes):
            raise AekitError(f"labels has {len(labels)} values for {len(codes)} rows")
        numeric = pd.api.types.is_numeric_dtype(labels) and labels.nunique() > 12
        if numeric:
            known = labels.notna().to_numpy()
            points = ax.scatter(
                codes[known, 0], codes[known, 1], s=6, c=labels[known], cmap="viridis"
            )
            fig.colorbar(points, ax=ax, label=str(labels.name or "label"))
            if not known.all():  # rows without a label are drawn too, in grey
                ax.scatter(*codes[~known].T, s=6, color="0.6", label=f"missing ({(~known).sum()})")
                ax.legend(fontsize=8, markerscale=2, loc="best")
        elif labels.nunique() > 20:  # too many levels to tell apart by colour
            ax.scatter(codes[:, 0], codes[:, 1], s=6, alpha=0.6)
            ax.text(
                0.01,
                0.99,
                f"{labels.nunique()} label values: not coloured",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
            )
        else:
            named = labels.astype(object).where(labels.notna(), "missing").astype(str)
            for i, (level, rows) in enumerate(named.groupby(named)):
                idx = rows.index.to_numpy()
                ax.scatter(codes[idx, 0], codes[idx, 1], s=6, color=f"C{i % 10}", label=level)
            ax.legend(fontsize=8, markerscale=2, loc="best")
    ax.set(xlabel=axes_names[0], ylabel=axes_names[1], title="Latent space")
    fig.tight_layout()
    return fig


def reconstructions(model, X, *, n_columns: int = 6):
    """Each continuous column's values against the model's reconstruction of them
    (points on the diagonal are reconstructed exactly)."""
    models, _, _ = parts_of(model)
    m = models[0]
    if image_model(model) is not None:
        return reconstruction_grid(m, X)
    df = m.frame_of(X)
    recon = m.reconstruct(df)
    recon = recon if isinstance(recon, pd.DataFrame) else pd.DataFrame(recon, columns=df.columns)
    columns = {c.name: c for c in m.encoder_.schema if c.kind == "continuous"}
    cols = list(columns)[:n_columns]
    if not cols:
        return None
    k = len(cols)
    n_cols = min(k, 3)
    n_rows = (k + n_cols - 1) // n_cols
    fig, axes = subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 3 * n_rows), squeeze=False)
    for ax, col in zip(axes.ravel(), cols, strict=False):
        column = columns[col]
        truth, guess = numbers(df[col], column), numbers(recon[col], column)
        ax.scatter(truth, guess, s=5, alpha=0.5)
        lo, hi = np.nanmin(truth), np.nanmax(truth)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set(title=str(col), xlabel="value", ylabel="reconstruction")
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def imputation_errors(imputer):
    """Per-column error of imputing cells that were observed but hidden during
    training (over-imputation): RMSE over the column's standard deviation (so
    columns in different units compare; 1 is as good as the mean), or the
    error rate for a discrete column. Bars are labelled with the raw value."""
    errors = imputer.expected_error_
    if errors is None or errors["value"].isna().all():
        return None
    if image_model(imputer) is not None:
        return _pixel_errors(imputer)
    errors = errors.dropna(subset=["value"]).reset_index(drop=True)
    encoder = imputer.models_[0].encoder_
    std = {encoder.schema[j].name: encoder.scale[i] for i, j in enumerate(encoder.continuous)}
    shown = [
        v / std[c] if m == "rmse" else v
        for c, m, v in zip(errors["column"], errors["metric"], errors["value"], strict=True)
    ]
    fig, ax = subplots(figsize=(6.5, 0.35 * len(errors) + 1.4))
    labels = [str(c) for c in errors["column"]]
    bars = ax.barh(labels, shown, color=["C0" if m == "rmse" else "C1" for m in errors["metric"]])
    for bar, m, v in zip(bars, errors["metric"], errors["value"], strict=True):
        text = f"RMSE {v:.3g}" if m == "rmse" else f"{v:.1%} wrong"
        ax.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center", fontsize=8
        )
    ax.invert_yaxis()
    ax.set_xlim(0, max(shown) * 1.35 if max(shown) > 0 else 1)
    ax.set(
        xlabel="RMSE / column std (blue), error rate (orange)",
        title="Expected imputation error per column (held-out cells)",
    )
    fig.tight_layout()
    return fig


def _pixel_errors(imputer):
    """The expected RMSE of each pixel (held-out pixels), as an image."""
    shape = imputer.model_.image_shape_
    errors = imputer.expected_error_["value"].to_numpy(dtype=float).reshape(shape)
    if errors.ndim == 3:  # colour: the mean over the channels
        errors = np.nanmean(errors, axis=0)
    fig, ax = subplots(figsize=(4.6, 3.8))
    shown = ax.imshow(np.ma.masked_invalid(errors), cmap="magma")
    fig.colorbar(shown, ax=ax, label="RMSE (pixel values in [0, 1])")
    ax.set(xticks=[], yticks=[], title="Expected imputation error per pixel")
    fig.tight_layout()
    return fig


def score_histogram(detector, X):
    """Anomaly scores of the rows (log-likelihood, higher = more normal) with the
    threshold ``offset_`` below which a row is flagged."""
    if not hasattr(detector, "offset_") or not hasattr(detector, "model_"):
        raise AekitError(
            f"score_histogram needs a fitted AnomalyDetector; got {type(detector).__name__}"
        )
    df = detector.model_.frame_of(detector.empty_columns_.drop(X))
    scored = df.notna().any(axis=1).to_numpy()  # a row with no observed cell has no score
    scores = detector.score_samples(
        X[scored] if isinstance(X, pd.DataFrame) else np.asarray(X)[scored]
    )
    fig, ax = subplots(figsize=(6, 3.2))
    ax.hist(scores, bins=min(60, max(10, len(scores) // 10)), color="C0")
    ax.axvline(detector.offset_, color="C3", label=f"threshold {detector.offset_:.3g}")
    flagged = float(np.mean(scores < detector.offset_))
    ax.set(xlabel="score (nats; higher = more normal)", ylabel="rows")
    ax.set_title(f"Anomaly scores: {flagged:.1%} of the rows below the threshold")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(model, X=None, labels=None) -> dict:
    """Every figure that applies to ``model`` (and ``X``), by name."""
    models, detector, imputer = parts_of(model)
    images = image_model(model) is not None
    out = {"training": training_curves(model)}
    if imputer is not None:
        out["imputation_errors"] = imputation_errors(imputer)
    if X is not None:
        data = X
        if imputer is not None:  # codes and reconstructions of the completed rows
            data = imputer.transform(X)
            if images and np.isnan(np.asarray(X, dtype=np.float64)).any():
                out["imputations"] = imputation_grid(X, data)
            out["imputed_distributions"] = imputed_distributions(imputer, X, data)
            out["missingness_pattern"] = missingness_pattern(imputer, X)
            out["imputation_trace"] = imputation_trace(imputer, X)
        wrapper = imputer if imputer is not None else detector
        if wrapper is not None:  # the models' columns (not those left out, empty in fit)
            data = wrapper.empty_columns_.drop(data)
        out["latent_map"] = latent_map(models[0], data, labels)
        out["reconstructions"] = reconstructions(models[0], data)
        if detector is not None:
            out["scores"] = score_histogram(detector, X)
    if images and hasattr(models[0], "sample"):
        out["samples"] = sample_grid(models[0])
    return {k: v for k, v in out.items() if v is not None}


def save_figures(model, directory, X=None, labels=None) -> list[Path]:
    """Write :func:`figures` as PNG files into ``directory``; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_png(fig, directory / f"{name}.png") for name, fig in figures(model, X, labels).items()
    ]
