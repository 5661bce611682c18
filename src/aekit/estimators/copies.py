"""The copies of :meth:`aekit.Imputer.multiple_imputations`, in encoded space.

- :func:`bootstrapped`: (D)AE models, one per copy, each fitted to its own
  bootstrap resample of the rows (the approximate Bayesian bootstrap; the m
  models train as one batched network), each copy a Gibbs draw from its
  model's one-column conditionals (``AEModule.draw_imputations``).
- :func:`resampled`: the fitted VAE models' sampling-importance-resampling
  (copy i from model i mod n_models), then Gibbs sweeps (``VAEModule.redraw``).

The sweeps of both recalibrate a continuous column's conditional by a
least-squares fit whose parameters are drawn from their posterior
(:mod:`aekit.models.gibbs`).

Both return float64 arrays (n, width) that the fitted encoder decodes.
"""

from __future__ import annotations

import numpy as np
import torch

from ..training import chunk_rows, seeded
from .holdout import HeldOutCells
from .vae import VAE

BOOTSTRAP_TAG = 0x626F6F74  # seeds the bootstrap resamples of multiple imputation
GIBBS_SWEEPS = 10  # sweeps over the missing columns before a copy is taken


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


def resampled(models: list, x, mask, m: int, seed: int, n_importance: int) -> list:
    """m encoded copies of the rows ``(x, mask)`` drawn by the fitted VAE
    ``models``' sampling-importance-resampling, then recalibrated by Gibbs sweeps."""
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
            drawn = module.redraw(state, x, mask, fill, GIBBS_SWEEPS)
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


def bootstrap_draws(template, X, table, known, m: int, seed: int, holdout, n_iter, n_importance):
    """(m encoded copies, each a Gibbs draw from a (D)AE fitted to its own bootstrap
    resample of the rows of ``X`` (``table``: ``as_table(X)``; :func:`bootstrap_models`);
    the first of those models; the frame drawn from: ``known``, or when None, X as
    the models read it)."""
    models = bootstrap_models(template, table, m, seed, holdout, n_iter, n_importance)
    df = models[0].frame_of(X) if known is None else known
    x, mask = models[0].encode_rows(df)
    return bootstrapped(models, x, mask, seed), models[0], df


def bootstrapped(models: list, x, mask, seed: int) -> list:
    """An encoded copy of ``(x, mask)`` from each bootstrapped (D)AE model: a
    Gibbs draw from its conditionals, their calibrations drawn from their posterior."""
    fill = torch.from_numpy(models[0].encoder_.fill).to(x)
    copies = []
    for i, member in enumerate(models):
        with torch.inference_mode(), seeded(seed + i, x.device):
            drawn = member.module_.draw_imputations(
                x, mask, fill, n_iter=kept_rounds(member), sweeps=GIBBS_SWEEPS
            )
        copies.append(drawn.double().cpu().numpy())
    return copies
