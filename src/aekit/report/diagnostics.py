"""What a statistician looks at after imputing a table, as R's mice shows it:

- :func:`imputed_distributions`: each column's imputed values against its
  observed ones (mice's ``densityplot``; bars of the levels for a discrete
  column). Imputations far outside the observed distribution, or piled on one
  value, point at a poor model or at values missing not at random.
- :func:`missingness_pattern`: which columns are missing together, and in how
  many rows (mice's ``md.pattern``).
- :func:`imputation_trace`: the mean of each column's imputed cells after
  every refinement round of a (D)AE imputer, or in every copy of a VAE
  imputer's multiple imputations (mice's trace plot): rounds should settle,
  copies should scatter around a common value.

Each takes a fitted :class:`~aekit.Imputer` and the table it imputes (with its
missing cells) and returns a matplotlib ``Figure``, or None where the figure
does not apply (images, a table without missing cells).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.tabular import numbers
from ..estimators import VAE
from ..estimators.holdout import impute_tensors
from ..estimators.linear import seen_dims
from .draw import subplots

MAX_COLUMNS = 12  # columns drawn, those with the most missing cells first
MAX_PATTERNS = 20  # missingness patterns drawn, the most frequent first
TRACE_COPIES = 5  # copies drawn for a VAE imputer's trace


def _table(imputer, X) -> pd.DataFrame | None:
    """X as the models' columns (without those the imputer passes through, empty in
    fit), or None for images or a table with no missing cell."""
    model = imputer.models_[0]
    if model.image_shape_ is not None:
        return None
    df = model.frame_of(imputer.empty_columns_.drop(X))
    return df if df.isna().to_numpy().any() else None


def _shown(df: pd.DataFrame) -> list:
    """The columns with missing cells, the most missing first, at most MAX_COLUMNS."""
    missing = df.isna().sum()
    missing = missing[missing > 0].sort_values(ascending=False, kind="stable")
    return list(missing.index[:MAX_COLUMNS])


def _grid(n: int, width: float = 3.0, height: float = 2.4):
    ncols = min(n, 4)
    nrows = -(-n // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def imputed_distributions(imputer, X, filled: pd.DataFrame | None = None):
    """Observed (blue) against imputed (red) values of each column with missing
    cells: densities of a numeric column (histograms normalised to area 1),
    each level's share for a discrete one. ``filled`` is ``imputer.transform(X)``
    when already at hand."""
    df = _table(imputer, X)
    if df is None:
        return None
    filled = imputer.transform(X) if filled is None else filled
    filled = imputer.models_[0].frame_of(imputer.empty_columns_.drop(filled))
    schema = {c.name: c for c in imputer.models_[0].encoder_.schema}
    columns = _shown(df)
    fig, axes = _grid(len(columns))
    for ax, name in zip(axes, columns, strict=False):
        hole = df[name].isna().to_numpy()
        observed, imputed = df[name][~hole], filled[name][hole]
        if schema[name].kind in ("continuous", "unit"):  # times in days since 1970
            obs, imp = (numbers(s, schema[name]) for s in (observed, imputed))
            edges = np.histogram_bin_edges(np.concatenate([obs, imp]), bins=20)
            ax.hist(obs, bins=edges, density=True, alpha=0.5, color="C0", label="observed")
            ax.hist(imp, bins=edges, density=True, alpha=0.5, color="C3", label="imputed")
        else:
            index = pd.Index(list(schema[name].categories))  # 0.0 finds the level 0
            levels = [str(v) for v in index]
            share_obs, share_imp = (
                np.bincount(index.get_indexer(v), minlength=len(index)) / max(len(v), 1)
                for v in (observed, imputed)
            )
            at = np.arange(len(levels))
            ax.bar(at - 0.2, share_obs, width=0.4, color="C0", label="observed")
            ax.bar(at + 0.2, share_imp, width=0.4, color="C3", label="imputed")
            ax.set_xticks(at, levels, rotation=45 if len(levels) > 4 else 0, fontsize=7)
        ax.set_title(f"{name} ({int(hole.sum())} imputed)", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Observed (blue) and imputed (red) values", fontsize=10)
    fig.tight_layout()
    return fig


def missingness_pattern(imputer, X):
    """The table's missingness patterns: one row per pattern (blue observed, red
    missing), the most frequent first, with the number of rows that have it and,
    under each column, its number of missing cells."""
    df = _table(imputer, X)
    if df is None:
        return None
    missing = df.isna().to_numpy()
    patterns, counts = np.unique(missing, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:MAX_PATTERNS]
    patterns, counts = patterns[order], counts[order]
    n_rows, n_cols = patterns.shape
    fig, ax = subplots(figsize=(min(12, 2.5 + 0.6 * n_cols), 1.4 + 0.3 * n_rows))
    colours = np.where(patterns[..., None], [[0.84, 0.15, 0.16]], [[0.12, 0.47, 0.71]])
    ax.imshow(colours, aspect="auto", interpolation="nearest")
    per_column = missing.sum(0)  # under each column: its missing cells
    names = [f"{c}\n{int(k)} missing" for c, k in zip(df.columns, per_column, strict=True)]
    ax.set_xticks(range(n_cols), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows), [f"{c} rows" for c in counts], fontsize=7)
    ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    every = len(np.unique(missing, axis=0))
    shown = "all" if n_rows == every else f"the {n_rows} most frequent of {every}"
    ax.set_title(f"Missingness patterns ({shown}): blue observed, red missing", fontsize=9)
    fig.tight_layout()
    return fig


def _round_means(imputer, df: pd.DataFrame, columns) -> np.ndarray:
    """(rounds, columns): the mean of each numeric column's imputed cells, in
    standard deviations from its observed mean, after each refinement round,
    the models averaged (a model past its own rounds keeps its last one)."""
    first = imputer.models_[0]
    x, mask = first.encode_rows(df)
    rounds = max(imputer.n_iter_)
    runs = []
    for model, n in zip(imputer.models_, imputer.n_iter_, strict=True):

        def refine(x, m, module=model.module_, n=n):
            out, current = [], x
            for r in range(rounds):
                if r < n:  # one more round from the last output
                    current = impute_tensors(module, current, m, n_iter=1, n_importance=1)
                out.append(current)
            return torch.cat(out, -1)

        runs.append(model.map_chunks(refine, x, mask).reshape(len(df), rounds, -1))
    filled = np.mean(runs, axis=0)  # (n, rounds, width), encoded: standardised
    holes = ~mask.cpu().numpy()
    linear = imputer.linear_
    if linear is not None and linear.share < 1:  # the last step: the linear part blended in
        seen = seen_dims(first.encoder_, ~holes)
        last = linear.blend(x.cpu().numpy(), seen, filled[:, -1])
        filled = np.concatenate([filled, last[:, None]], axis=1)
    dims = [first.encoder_.start[list(df.columns).index(c)] for c in columns]
    cols = [list(df.columns).index(c) for c in columns]
    return np.stack([filled[holes[:, j], :, d].mean(0) for j, d in zip(cols, dims, strict=True)], 1)


def _copy_means(imputer, X, df: pd.DataFrame, columns) -> np.ndarray:
    """(copies, columns): the mean of each numeric column's imputed cells in each
    of TRACE_COPIES multiple imputations of X (``df``: as :func:`_table` gives
    it), in standard deviations from its observed mean."""
    copies = imputer.multiple_imputations(X, TRACE_COPIES, random_state=0)
    holes = df.isna()
    out = []
    for copy in copies:
        copy = imputer.models_[0].frame_of(imputer.empty_columns_.drop(copy))
        row = []
        for c in columns:
            observed = pd.to_numeric(df[c]).astype(float)
            imputed = pd.to_numeric(copy[c][holes[c]]).astype(float)
            row.append((imputed.mean() - observed.mean()) / (observed.std(ddof=0) or 1.0))
        out.append(row)
    return np.asarray(out)


def imputation_trace(imputer, X):
    """The mean of each numeric column's imputed cells, in standard deviations
    from its observed mean: after each refinement round of a (D)AE imputer (and
    last, "+ linear", with its linear part blended in, when it has one), or in
    each of five multiple-imputation copies of a VAE imputer."""
    df = _table(imputer, X)
    if df is None:
        return None
    kinds = {c.name: c.kind for c in imputer.models_[0].encoder_.schema}
    times = {c.name for c in imputer.models_[0].encoder_.schema if c.time}
    columns = [c for c in _shown(df) if kinds[c] == "continuous" and c not in times]
    if not columns:
        return None
    vae = isinstance(imputer.models_[0], VAE)
    means = _copy_means(imputer, X, df, columns) if vae else _round_means(imputer, df, columns)
    steps = np.arange(1, len(means) + 1)
    labels = [str(k) for k in steps]
    if not vae and len(means) > max(imputer.n_iter_):
        labels[-1] = "+ linear"  # the linear part blended into the last round
    fig, ax = subplots(figsize=(6.5, 3.4))
    for j, name in enumerate(columns):
        ax.plot(steps, means[:, j], marker="o", ms=3, lw=1, label=str(name))
    ax.axhline(0, color="k", lw=0.6)
    what = "copy" if vae else "refinement round"
    ax.set(
        xlabel=what,
        ylabel="imputed mean − observed mean (std)",
        title=f"Trace of the imputed means by {what}",
    )
    ax.set_xticks(steps, labels)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
