"""Figures and reports: PNG with matplotlib, and one self-contained HTML file.

The figure functions take a fitted estimator (and data where the figure needs
it) and return a matplotlib ``Figure``; :func:`save_figures` writes them as
PNG. :class:`Report` collects figures and tables into one HTML file whose
images are embedded (``data:`` URIs), with no script and no external
reference, so it can be mailed or archived as it is.

>>> report = Report("Penguins")                              # doctest: +SKIP
>>> report.add_model("imputer", imputer, df, labels=df["species"])  # doctest: +SKIP
>>> report.write("report.html")                              # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AekitError
from .io import atomic_write


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize, squeeze: bool = True):
    """A figure outside pyplot's registry (nothing to close, no display needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _write_png(fig, path) -> Path:
    path = Path(path)
    data = _png(fig)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


# ------------------------------------------------------------ the parts of a model
def _parts(model):
    """(autoencoder models, the detector or None, the imputer or None)."""
    from .estimators import AnomalyDetector, Imputer
    from .estimators.base import BaseAutoencoderEstimator

    if isinstance(model, Imputer):
        return list(model.models_), None, model
    if isinstance(model, AnomalyDetector):
        return [model.model_], model, None
    if isinstance(model, BaseAutoencoderEstimator):
        return [model], None, None
    raise AekitError(f"a report needs a fitted aekit estimator; got {type(model).__name__}")


# ------------------------------------------------------------ figures
MISSING_COLOUR = (0.85, 0.1, 0.1)  # how a missing pixel is drawn


def _images(images, image_shape) -> np.ndarray:
    """Images to draw, (n, H, W) or (n, H, W, 3): flat rows are reshaped to
    ``image_shape`` ((H, W) or (C, H, W)); channels go last; one channel is dropped."""
    a = np.asarray(images, dtype=np.float64)
    if a.ndim == 2:
        a = a.reshape(len(a), *image_shape)
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)  # (n, H, W, C)
        if a.shape[3] == 1:
            a = a[..., 0]
        elif a.shape[3] != 3:
            raise AekitError(f"images with {a.shape[3]} channels cannot be drawn (1 or 3)")
    if a.ndim not in (3, 4):
        raise AekitError(f"images of shape {np.shape(images)} cannot be drawn")
    return a


def image_grid(
    rows: Sequence[np.ndarray],
    labels: Sequence[str],
    path=None,
    *,
    image_shape: tuple[int, ...] = (8, 8),
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray_r",
):
    """A grid of images: one row per array in ``rows``, labelled on the left.

    Parameters
    ----------
    rows : sequence of arrays of shape (n_images, H*W), (n_images, H, W) or (n_images, C, H, W)
        E.g. originals, then each model's reconstructions of the same images.
        Flat rows are reshaped to ``image_shape``. A NaN pixel (missing) is
        drawn in red.
    labels : sequence of str, one per row
    path : str or Path, optional
        Write the PNG there (atomically) and return the path; without it,
        return the figure.
    vmin, vmax, cmap
        The grey scale of one-channel images (``"gray_r"``: high values dark,
        as ink; ``"gray"``: high values light). Colour images are drawn as
        they are, with values in [0, 1].
    """
    from matplotlib import colormaps

    images = [_images(r, image_shape) for r in rows]
    greys = colormaps[cmap].with_extremes(bad=MISSING_COLOUR)
    n_rows, n_cols = len(images), max(len(r) for r in images)
    fig, axes = _subplots(n_rows, n_cols, figsize=(0.9 * n_cols + 1.2, 0.9 * n_rows), squeeze=False)
    for i, (row, label) in enumerate(zip(images, labels, strict=True)):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j >= len(row):
                continue
            image = row[j]
            if image.ndim == 3:  # colour: missing pixels in red, values clipped to [0, 1]
                hidden = np.isnan(image).any(axis=2)
                image = np.clip(np.nan_to_num(image), 0, 1)
                image[hidden] = MISSING_COLOUR
                ax.imshow(image)
            else:
                ax.imshow(np.ma.masked_invalid(image), cmap=greys, vmin=vmin, vmax=vmax)
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig if path is None else _write_png(fig, path)


def _image_model(model):
    """The first autoencoder of ``model`` if it was fitted on images, else None."""
    models, _, _ = _parts(model)
    return models[0] if getattr(models[0], "image_shape_", None) is not None else None


def imputation_grid(X_missing, X_imputed, X_true=None, path=None, *, n: int = 10):
    """Images with holes (missing pixels in red) above their imputations, and the
    originals on top when they are known (e.g. when the holes were made by
    :func:`aekit.data.images.mask_images`). The first ``n`` images that have
    a missing pixel are shown.

    Parameters
    ----------
    X_missing : array of shape (n, H, W) or (n, C, H, W), NaN where missing
    X_imputed : array of the same shape, e.g. ``Imputer.transform(X_missing)``
    X_true : array of the same shape, optional
    path : str or Path, optional
        Write the PNG there and return the path; else return the figure.
    """
    X_missing = np.asarray(X_missing, dtype=np.float64)
    if np.shape(X_imputed) != X_missing.shape or (
        X_true is not None and np.shape(X_true) != X_missing.shape
    ):
        raise AekitError("the images with holes, imputed and original must have one shape")
    holed = np.isnan(X_missing).reshape(len(X_missing), -1).any(axis=1)
    shown = np.flatnonzero(holed)[:n] if holed.any() else np.arange(min(n, len(X_missing)))
    rows = [X_missing[shown], np.asarray(X_imputed)[shown]]
    labels = ["with holes", "imputed"]
    if X_true is not None:
        rows, labels = [np.asarray(X_true)[shown], *rows], ["original", *labels]
    return image_grid(rows, labels, path, vmin=0, vmax=1, cmap="gray")


def sample_grid(model, path=None, *, n: int = 30, per_row: int = 10, random_state=0):
    """New images drawn from a VAE fitted on images (``n`` of them, ``per_row``
    to a row). Write the PNG to ``path`` and return it, or return the figure."""
    vae = _image_model(model)
    if vae is None or not hasattr(vae, "sample"):
        raise AekitError("a grid of samples needs a VAE fitted on images")
    return image_rows(vae.sample(n, random_state=random_state), path, per_row=per_row)


def image_rows(images, path=None, *, per_row: int = 10):
    """Images in [0, 1] laid out ``per_row`` to a row, unlabelled (e.g. samples)."""
    images = np.asarray(images)
    rows = [images[i : i + per_row] for i in range(0, len(images), per_row)]
    return image_grid(rows, [""] * len(rows), path, vmin=0, vmax=1, cmap="gray")


def reconstruction_grid(model, X, path=None, *, n: int = 10):
    """The first ``n`` images of X above the model's reconstructions of them."""
    m = _image_model(model)
    if m is None:
        raise AekitError("a grid of reconstructions needs a model fitted on images")
    images = np.asarray(X)[:n]
    rows = [images, np.asarray(m.reconstruct(images))]
    return image_grid(rows, ["image", "reconstruction"], path, vmin=0, vmax=1, cmap="gray")


def training_curves(model):
    """Loss per epoch on the training rows and, where held out, on validation rows
    (and the early-stopping monitor, e.g. an imputer's error on held-out cells)."""
    models, _, _ = _parts(model)
    monitored = [m for m in models if "val_monitor" in m.history_]
    fig, axes = _subplots(1, 2 if monitored else 1, figsize=(9 if monitored else 5, 3.2))
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
    from sklearn.decomposition import PCA

    models, _, _ = _parts(model)
    codes = np.asarray(models[0].transform(X), dtype=np.float64)
    axes_names = ("latent 0", "latent 1")
    if codes.shape[1] > 2:
        codes = PCA(2).fit_transform(codes)
        axes_names = ("PC 1 of the codes", "PC 2 of the codes")
    elif codes.shape[1] == 1:
        codes = np.c_[codes, np.zeros(len(codes))]
        axes_names = ("latent 0", "")
    fig, ax = _subplots(figsize=(5.5, 4.5))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=6, alpha=0.6)
    else:
        labels = pd.Series(np.asarray(labels)).reset_index(drop=True)
        if len(labels) != len(codes):
            raise AekitError(f"labels has {len(labels)} values for {len(codes)} rows")
        numeric = pd.api.types.is_numeric_dtype(labels) and labels.nunique() > 12
        if numeric:
            points = ax.scatter(codes[:, 0], codes[:, 1], s=6, c=labels, cmap="viridis")
            fig.colorbar(points, ax=ax, label=str(labels.name or "label"))
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
            for i, (level, rows) in enumerate(labels.astype(str).groupby(labels.astype(str))):
                idx = rows.index.to_numpy()
                ax.scatter(codes[idx, 0], codes[idx, 1], s=6, color=f"C{i % 10}", label=level)
            ax.legend(fontsize=8, markerscale=2, loc="best")
    ax.set(xlabel=axes_names[0], ylabel=axes_names[1], title="Latent space")
    fig.tight_layout()
    return fig


def reconstructions(model, X, *, n_columns: int = 6):
    """Each continuous column's values against the model's reconstruction of them
    (points on the diagonal are reconstructed exactly)."""
    models, _, _ = _parts(model)
    m = models[0]
    if _image_model(model) is not None:
        return reconstruction_grid(m, X)
    df, _ = m._frame(X, reset=False)
    recon = m.reconstruct(df)
    recon = recon if isinstance(recon, pd.DataFrame) else pd.DataFrame(recon, columns=df.columns)
    cols = [c.name for c in m.encoder_.schema if c.kind == "continuous"][:n_columns]
    if not cols:
        return None
    k = len(cols)
    n_cols = min(k, 3)
    n_rows = (k + n_cols - 1) // n_cols
    fig, axes = _subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 3 * n_rows), squeeze=False)
    for ax, col in zip(axes.ravel(), cols, strict=False):
        truth = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        guess = recon[col].to_numpy(dtype=float)
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
    if _image_model(imputer) is not None:
        return _pixel_errors(imputer)
    errors = errors.dropna(subset=["value"]).reset_index(drop=True)
    encoder = imputer.models_[0].encoder_
    std = {encoder.schema[j].name: encoder.scale[i] for i, j in enumerate(encoder.continuous)}
    shown = [
        v / std[c] if m == "rmse" else v
        for c, m, v in zip(errors["column"], errors["metric"], errors["value"], strict=True)
    ]
    fig, ax = _subplots(figsize=(6.5, 0.35 * len(errors) + 1.4))
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
    fig, ax = _subplots(figsize=(4.6, 3.8))
    shown = ax.imshow(np.ma.masked_invalid(errors), cmap="magma")
    fig.colorbar(shown, ax=ax, label="RMSE (pixel values in [0, 1])")
    ax.set(xticks=[], yticks=[], title="Expected imputation error per pixel")
    fig.tight_layout()
    return fig


def score_histogram(detector, X):
    """Anomaly scores of the rows (log-likelihood, higher = more normal) with the
    threshold ``offset_`` below which a row is flagged."""
    df, _ = detector.model_._frame(X, reset=False)
    scored = df.notna().any(axis=1).to_numpy()  # a row with no observed cell has no score
    scores = detector.score_samples(df[scored])
    fig, ax = _subplots(figsize=(6, 3.2))
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
    models, detector, imputer = _parts(model)
    images = _image_model(model) is not None
    out = {"training": training_curves(model)}
    if imputer is not None:
        out["imputation_errors"] = imputation_errors(imputer)
    if X is not None:
        data = X
        if imputer is not None:  # codes and reconstructions of the completed rows
            data = imputer.transform(X)
            if images and np.isnan(np.asarray(X, dtype=np.float64)).any():
                out["imputations"] = imputation_grid(X, data)
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
        _write_png(fig, directory / f"{name}.png")
        for name, fig in figures(model, X, labels).items()
    ]


# ------------------------------------------------------------ HTML
TITLES = {
    "training": "Training curves",
    "imputation_errors": "Imputation error on held-out cells",
    "latent_map": "Latent space",
    "reconstructions": "Reconstructions against the data",
    "scores": "Anomaly scores",
    "imputations": "Images with holes (red) and their imputations",
    "samples": "New images drawn from the model",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.6em 0; }
.note { color: #555; font-size: 0.9em; }
"""


class Report:
    """A self-contained HTML report built from figures, tables and models."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def add_heading(self, text: str) -> Report:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")
        return self

    def add_text(self, text: str) -> Report:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')
        return self

    def add_table(self, title: str, table: pd.DataFrame, *, floatfmt: str = "{:.4g}") -> Report:
        def cell(v):
            if isinstance(v, float):
                return floatfmt.format(v) if np.isfinite(v) else "-"
            return "-" if v is None else v

        formatted = table.astype(object).map(cell)
        self.parts.append(f"<h3>{html.escape(title)}</h3>")
        self.parts.append(formatted.to_html(index=False, escape=True, border=0, na_rep="-"))
        return self

    def add_figure(self, title: str, fig) -> Report:
        data = base64.b64encode(_png(fig)).decode("ascii")
        alt = html.escape(title, quote=True)
        self.parts.append(f"<h3>{html.escape(title)}</h3>")
        self.parts.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
        return self

    def add_model(self, name: str, model, X=None, labels=None) -> Report:
        """A section for one fitted estimator: a summary and its figures."""
        models, detector, imputer = _parts(model)
        self.add_heading(name)
        first = models[0]
        summary = {
            "estimator": type(model).__name__,
            "model": type(first).__name__,
            "latent size": first.latent_dim,
            "columns": len(first.encoder_.schema),
            "epochs trained": ", ".join(str(m.n_epochs_) for m in models),
        }
        if first.image_shape_ is not None:
            summary["columns"] = f"{summary['columns']} pixels of images " + " x ".join(
                map(str, first.image_shape_)
            )
        if detector is not None:
            summary["anomaly threshold (nats)"] = f"{detector.offset_:.4g}"
        if imputer is not None:
            summary["models averaged"] = len(models)
        self.add_table(
            "Summary", pd.DataFrame({"": list(summary), "value": list(summary.values())})
        )
        for key, fig in figures(model, X, labels).items():
            self.add_figure(TITLES[key], fig)
        return self

    def html(self) -> str:
        from . import __version__

        title = html.escape(self.title)
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n{body}\n"
            f'<p class="note">Written by aekit {__version__}.</p>\n</body>\n</html>\n'
        )

    def write(self, path) -> Path:
        """Write the report (atomically)."""
        path = Path(path)
        text = self.html()
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path
