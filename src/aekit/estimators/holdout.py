"""Over-imputation: observed cells hidden from training, to choose and to judge
an imputer without ground truth.

A share of the observed cells of each chunk of a table is hidden (the cells of
chunk ``i`` drawn by a generator seeded by (seed, :data:`HOLDOUT_TAG`, i), so
every pass over a file hides the same ones). Early stopping watches the error
of imputing them on the first rows that have some (:data:`MONITOR_ROWS`, fewer
for wide rows such as images: at most :data:`MONITOR_CELLS` cells)
(:meth:`HeldOutCells.monitor`); the fitted imputer reports the error per column
over all of them (:meth:`HeldOutCells.errors`, the ``expected_error_``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from ..data.bounds import FAR
from ..data.schema import is_discrete
from ..data.tabular import numbers
from ..models import VAEModule

MONITOR_ROWS = 2000  # rows used to watch the held-out cells during training
MONITOR_CELLS = 200_000  # ... and cells: a wide row (an image) is watched on fewer rows
HOLDOUT_TAG = 0x686F6C64  # seeds the draws of held-out cells, apart from other draws


class HeldOutCells:
    """The observed cells hidden from training: a ``share`` of each chunk's,
    drawn from ``seed``."""

    def __init__(self, share: float, seed: int, skipped: tuple[int, ...] = ()):
        self.share, self.seed, self.skipped = share, seed, skipped

    def narrowed(self, positions: tuple[int, ...]) -> HeldOutCells:
        """The cells hidden in the chunks with the (empty) columns at ``positions``
        dropped: those hidden in the whole chunks."""
        return HeldOutCells(self.share, self.seed, tuple(positions))

    def of(self, i: int, chunk: pd.DataFrame) -> np.ndarray:
        """The hidden cells of chunk ``i``, (n, p) bool; the same on every call.

        A column keeps at least two observed cells, a discrete column hides
        only levels it keeps elsewhere (a level seen only in hidden cells would
        be unknown to the model), and a column of numbers hides none where its
        kept cells alone would change its kind (0/1 only, or whole numbers
        only: the one 2 of a column of 0, 1 and 2 hidden would make it binary),
        nor a value further from its kept values than :data:`FAR` times their
        range (the one real value of a column of rounding noise: standardised
        by the kept cells, it lay 10^8 deviations out, and its error drowned
        every other cell's in the stopping signal).
        """
        observed = chunk.notna().to_numpy()
        if self.share == 0:
            return np.zeros_like(observed)
        # a stream of its own: a RandomState seeded like the one that made the holes
        # (e.g. ampute with the same seed) would pick exactly the missing cells
        rng = np.random.default_rng([self.seed, HOLDOUT_TAG, i])
        n, p = observed.shape  # the draws of the whole chunk's cells
        u = rng.random((n, p + len(self.skipped)))
        if self.skipped:
            u = np.delete(u, self.skipped, axis=1)
        hidden = observed & (u < self.share)
        for j, col in enumerate(chunk.columns):
            s = chunk[col]
            keep = observed[:, j] & ~hidden[:, j]
            if keep.sum() < 2:  # a column needs observed cells to be modelled
                hidden[:, j] = False
            elif is_discrete(s):
                hidden[:, j] &= s.isin(set(s[keep])).to_numpy()
            elif pd.api.types.is_numeric_dtype(s.dtype) and hidden[:, j].any():
                values = s.to_numpy(dtype=np.float64, na_value=np.nan)
                if _number_kind(values[keep]) != _number_kind(values[observed[:, j]]):
                    hidden[:, j] = False
                else:
                    low, high = values[keep].min(), values[keep].max()
                    reach = FAR * (high - low)
                    hidden[:, j] &= (values >= low - reach) & (values <= high + reach)
        return hidden

    def hide(self, i: int, chunk: pd.DataFrame) -> pd.DataFrame:
        """Chunk ``i`` with its held-out cells missing (for ``table.map``)."""
        hidden = self.of(i, chunk)
        return chunk.mask(hidden) if hidden.any() else chunk

    def monitor(self, table, n_iter: int, n_importance: int) -> Callable | None:
        """The ``monitor`` of a model's fit (see ``fit_with``): the error of
        imputing the held-out cells of the first rows that have some; None
        without held-out cells."""
        parts, hidden_parts, rows, limit = [], [], 0, MONITOR_ROWS
        for i, chunk in enumerate(table.chunks()):
            if i == 0:  # the width from the first chunk: a file's columns need no scan
                limit = min(MONITOR_ROWS, max(1, MONITOR_CELLS // max(chunk.shape[1], 1)))
            if rows >= limit or self.share == 0:
                break
            hidden = self.of(i, chunk)
            some = hidden.any(1)
            parts.append(chunk[some])
            hidden_parts.append(hidden[some])
            rows += int(some.sum())
        if not rows:
            return None
        frame = pd.concat(parts).iloc[:limit]
        hidden = np.concatenate(hidden_parts)[:limit]
        return lambda encoder, module: _watch(encoder, module, frame, hidden, n_iter, n_importance)

    def errors(self, impute: Callable, table, encoder) -> pd.DataFrame | None:
        """Per column, the error of imputing its held-out cells with ``impute``
        (a fitted imputer's frame -> completed frame), in the column's units:
        ``metric`` ("rmse", in days for times, or "error_rate" for a discrete
        column), ``value`` and ``n_cells``; None without held-out cells."""
        if self.share == 0:
            return None
        schema = encoder.schema
        # squared errors are summed in units of each column's scale: no overflow
        scale = np.ones(len(schema))
        scale[encoder.continuous] = encoder.scale
        p = len(schema)
        squares, wrong, counts = np.zeros(p), np.zeros(p), np.zeros(p, dtype=int)
        for i, chunk in enumerate(table.chunks()):
            hidden = self.of(i, chunk)
            if not hidden.any():
                continue
            imputed = impute(chunk.mask(hidden))
            for j, col in enumerate(schema):
                cells = hidden[:, j]
                if not cells.any():
                    continue
                truth, guess = chunk.iloc[cells, j], imputed.iloc[cells, j]
                if col.kind in ("continuous", "unit"):
                    d = (numbers(truth, col) - numbers(guess, col)) / scale[j]
                    squares[j] += np.sum(d**2)
                else:
                    wrong[j] += np.sum(
                        truth.astype(object).to_numpy() != guess.astype(object).to_numpy()
                    )
                counts[j] += int(cells.sum())
        if not counts.any():
            return None
        out = []
        for j, col in enumerate(schema):
            if not counts[j]:
                out.append((col.name, "-", np.nan, 0))
            elif col.kind in ("continuous", "unit"):
                out.append(
                    (
                        col.name,
                        "rmse",
                        float(np.sqrt(squares[j] / counts[j]) * scale[j]),
                        int(counts[j]),
                    )
                )
            else:
                out.append((col.name, "error_rate", float(wrong[j] / counts[j]), int(counts[j])))
        return pd.DataFrame(out, columns=["column", "metric", "value", "n_cells"])


def known_cells(encoder, frame: pd.DataFrame, hidden: np.ndarray):
    """``(frame, hidden)`` less the held-out cells whose values ``encoder``, fitted
    without them, does not know: a level that only held-out cells hold, which
    :meth:`HeldOutCells.of` keeps from happening in a column it reads as levels,
    but a chunk of a file may read as times a column that is text in another."""
    unseen = encoder.unseen(frame) & hidden
    if not unseen.any():
        return frame, hidden
    return frame.mask(unseen), hidden & ~unseen


def impute_tensors(module, x, mask, *, n_iter: int | None, n_importance: int):
    """A module's imputation of encoded rows: the (D)AE's ``n_iter`` refinement
    rounds, or the VAE's importance-weighted conditional mean."""
    if isinstance(module, VAEModule):
        return module.impute(x, mask, k=n_importance)
    return module.impute(x, mask, n_iter=n_iter)


def _number_kind(values: np.ndarray) -> tuple[bool, bool]:
    """(0 and 1 and nothing else, whole numbers only) of observed numbers: what
    the schema's kind of a column of numbers turns on (the rule of
    :func:`aekit.data.schema.infer_column`; change the two together)."""
    zero, one = values == 0, values == 1
    return bool((zero | one).all() and zero.any() and one.any()), bool(
        (values == np.rint(values)).all()
    )


def _watch(encoder, module, frame, hidden, n_iter: int, n_importance: int):
    """Early-stopping signal: mean error of imputing the held-out cells of ``frame``.

    For a (D)AE the error is taken after each refinement round and the best
    round count is reported too (``rounds``, recorded as ``val_rounds``).
    """
    frame, hidden = known_cells(encoder, frame, hidden)
    x_true, _ = encoder.encode(frame)
    x_fit, mask_fit = encoder.encode(frame.mask(hidden))
    device = next(module.parameters()).device
    x_fit, mask_fit = torch.from_numpy(x_fit).to(device), torch.from_numpy(mask_fit).to(device)
    target, cells = torch.from_numpy(x_true).to(device), torch.from_numpy(hidden).to(device)
    likelihood = module.likelihood
    n_cells = float(cells.sum())

    def total(filled) -> np.ndarray:
        """Summed held-out cell loss per model, shape (1,) or (members,)."""
        errors = likelihood.cell_errors(filled, target)
        errors = torch.where(cells, errors, torch.zeros((), dtype=errors.dtype, device=device))
        return errors.sum((-2, -1)).double().cpu().numpy().reshape(-1)

    def watch():
        """Error per model (one value, or one per member of an ensemble); for a
        (D)AE with the best number of refinement rounds per model."""
        if isinstance(module, VAEModule):
            filled = module.impute(x_fit, mask_fit, k=min(n_importance, 20))
            return total(filled) / n_cells
        errors, filled, active = [], x_fit, None
        for _ in range(n_iter):  # impute(·, 1) from the last output is one more round
            filled = module.impute(filled, mask_fit, n_iter=1)
            error = total(filled)
            if errors:  # a model stops refining once a round does not help it
                error = np.where(active, error, np.inf)
                active &= error < errors[-1]
            else:
                active = np.ones(error.shape, dtype=bool)
            errors.append(error)
            if not active.any():
                break
        errors = np.stack(errors)  # (rounds, models)
        return {"monitor": errors.min(0) / n_cells, "rounds": errors.argmin(0) + 1}

    return watch
