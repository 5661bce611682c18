"""The copies of :meth:`aekit.Imputer.multiple_imputations`, in encoded space.

- :func:`bootstrapped`: (D)AE models, one per copy, each fitted to its own
  bootstrap resample of the rows (the approximate Bayesian bootstrap; the m
  models train as one batched network), each copy a Gibbs draw from its
  model's one-column conditionals (``AEModule.draw_imputations``).
- :func:`resampled`: the fitted VAE models' sampling-importance-resampling
  (copy i from model i mod n_models), then Gibbs sweeps (``VAEModule.redraw``).

The sweeps of both recalibrate a continuous column's conditional by a
least-squares fit whose parameters are drawn from their posterior
(:mod:`aekit.models.gibbs`); with ``donors`` (``draws="pmm"``) its cells are
observed values chosen by predictive mean matching on that fit.

Both return float64 arrays (n, width) that the fitted encoder decodes
(:func:`decoded`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.tabular import numbers
from ..errors import AekitError
from ..training import chunk_rows, seeded
from .holdout import HeldOutCells
from .params import check_int
from .vae import VAE

BOOTSTRAP_TAG = 0x626F6F74  # seeds the bootstrap resamples of multiple imputation
GIBBS_SWEEPS = 10  # sweeps over the missing columns before a copy is taken


DRAWS = ("normal", "pmm")


def check_draws(draws, donors, model, images=False, argument="draws") -> int:
    """The donors of a predictive mean match (0 for ``draws="normal"``), after
    checking the arguments against the imputer's ``model`` (None: the default)
    and the data (``images``: a stack of images); ``argument``: what ``draws``
    is called in the errors."""
    if draws not in DRAWS:
        raise AekitError(f"{argument} must be one of {list(DRAWS)}; got {draws!r}")
    donors = check_int("donors", donors)
    if draws == "normal":
        return 0
    pmm, normal = (" pmm", " normal") if argument.startswith("-") else ("='pmm'", "='normal'")
    if getattr(model, "missingness", "ignorable") != "ignorable":
        raise AekitError(
            f"{argument}{pmm} takes observed values for missing ones, which a model of data "
            f"missing not at random says they are unlike; use {argument}{normal}"
        )
    if images and getattr(model, "pixel_likelihood", "bernoulli") == "bernoulli":
        # a Bernoulli pixel keeps its conditional mean in every copy: nothing to match
        raise AekitError(
            f"{argument}{pmm} matches numbers of a table; the pixels of images (Bernoulli, "
            f"pixel_likelihood='bernoulli') keep their conditional means in each copy: use "
            f"{argument}{normal}"
        )
    return donors


def decoded(encoder, drawn: np.ndarray, df: pd.DataFrame, donors: int) -> pd.DataFrame:
    """An encoded copy of the rows of ``df`` decoded; after a predictive mean
    match (``donors`` > 0), each continuous column's missing cells hold the
    observed values of ``df`` they were matched to, exactly (the encoding's
    rounding otherwise leaves them a few units in the last place away)."""
    out = encoder.decode(drawn, index=df.index)
    for col in encoder.schema if donors else ():
        holes = df[col.name].isna().to_numpy()
        if col.kind != "continuous" or not holes.any() or holes.all():
            continue
        seen = df[col.name][~holes]
        values = numbers(seen, col)
        order = np.argsort(values, kind="stable")
        ranked = values[order]
        got = numbers(out[col.name][holes], col)
        place = np.zeros(len(got), dtype=int)  # the nearest observed value's rank
        if len(ranked) > 1:
            right = np.clip(np.searchsorted(ranked, got), 1, len(ranked) - 1)
            place = right - (np.abs(got - ranked[right - 1]) <= np.abs(ranked[right] - got))
        filled = out[col.name].astype(seen.dtype)
        filled.iloc[np.flatnonzero(holes)] = seen.iloc[order[place]].to_numpy()
        out[col.name] = filled
    return out


def rows_per_pass(model, x, n_importance: int) -> int:
    """Rows per forward pass of ``model``'s imputation (:func:`~aekit.training.chunk_rows`):
    a VAE's k draws of each row, or a few refinement states of an autoencoder's."""
    return chunk_rows(x.shape[1] * (n_importance if isinstance(model, VAE) else 4))


def kept_rounds(model) -> int:
    """The refinement rounds of a (D)AE at its kept epoch (1 without held-out cells)."""
    history = model.history_
    if "val_rounds" not in history:
        return 1
    return int(history.loc[history["best"], "val_rounds"].iloc[-1])


def resampled(models: list, x, mask, m: int, seed: int, n_importance: int, donors=0) -> list:
    """m encoded copies of the rows ``(x, mask)`` drawn by the fitted VAE
    ``models``' sampling-importance-resampling, then recalibrated by Gibbs sweeps
    (``donors``: of a predictive mean match)."""
    n_models = len(models)
    per_model = []  # (n, count, width) per model, so that map_chunks can chunk over rows
    for j, member in enumerate(models):
        count = len(range(j, m, n_models))
        if count == 0:
            break
        per_model.append(
            member.map_chunks(
                lambda x, msk, module=member.module_, c=count: module.draw_imputations(
                    x, msk, c, k=n_importance
                ).transpose(0, 1),
                x,
                mask,
                seed=seed + j,
                chunk=rows_per_pass(member, x, n_importance),
            )
        )
    fill = torch.from_numpy(models[0].encoder_.fill).to(x)
    copies = []
    for i in range(m):  # each copy recalibrated on every row (see VAEModule.redraw)
        state = torch.from_numpy(per_model[i % n_models][:, i // n_models]).to(x)
        with torch.inference_mode(), seeded(seed + n_models + i, x.device):
            module = models[i % n_models].module_
            drawn = module.redraw(state, x, mask, fill, GIBBS_SWEEPS, donors)
        copies.append(drawn.double().cpu().numpy())
    return copies


def bootstrap_models(template, table, m: int, seed: int, holdout: float, n_iter, n_importance):
    """m models fitted from ``template``, each to its own bootstrap resample of
    ``table``'s rows, as one batched network. ``template`` (a fresh clone) is
    set to hold out no rows: the cells out of each resample and ``holdout`` of
    the observed cells do that."""
    n = table.n_rows
    resample = np.random.default_rng([seed, BOOTSTRAP_TAG]).integers(0, n, size=(m, n))
    cells = HeldOutCells(holdout, seed)
    return template.set_params(validation_fraction=0.0).fit_copies(
        table.map(cells.hide),
        m,
        random_state=seed,
        monitor=cells.monitor(table, n_iter, n_importance),
        resample=resample,
    )


def bootstrap_draws(
    template, X, table, known, m: int, seed: int, holdout, n_iter, n_importance, donors=0
):
    """(m encoded copies, each a Gibbs draw from a (D)AE fitted to its own bootstrap
    resample of the rows of ``X`` (``table``: ``as_table(X)``; :func:`bootstrap_models`);
    the first of those models; the frame drawn from: ``known``, or when None, X as
    the models read it); ``donors``: of a predictive mean match)."""
    models = bootstrap_models(template, table, m, seed, holdout, n_iter, n_importance)
    df = models[0].frame_of(X) if known is None else known
    x, mask = models[0].encode_rows(df)
    return bootstrapped(models, x, mask, seed, donors), models[0], df


def bootstrapped(models: list, x, mask, seed: int, donors: int = 0) -> list:
    """An encoded copy of ``(x, mask)`` from each bootstrapped (D)AE model: a
    Gibbs draw from its conditionals, their calibrations drawn from their
    posterior (``donors``: of a predictive mean match)."""
    fill = torch.from_numpy(models[0].encoder_.fill).to(x)
    copies = []
    for i, member in enumerate(models):
        with torch.inference_mode(), seeded(seed + i, x.device):
            drawn = member.module_.draw_imputations(
                x, mask, fill, n_iter=kept_rounds(member), sweeps=GIBBS_SWEEPS, donors=donors
            )
        copies.append(drawn.double().cpu().numpy())
    return copies
