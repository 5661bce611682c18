"""A table to tensors and back: standardisation, one-hot groups, masks.

The encoded row is the concatenation, in column order, of

- a continuous column: ``(x - mean) / std`` (one dimension; a column of
  times in days, see :mod:`aekit.data.times`);
- a binary column: 0 or 1 (one dimension);
- a categorical column with K levels: a one-hot group (K dimensions);
- a unit column (a pixel, a proportion): its value in [0, 1] (one dimension).

A missing cell is filled with the column's observed mean in encoded space
(0 for a standardised column, the observed rate for a binary one, the observed
level frequencies for a one-hot group, the observed mean of a unit column) and
marked 0 in the mask, so that the likelihood skips it (DESIGN.md: "Missing data").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import AekitError
from ..indexing import as_slice, block_rows
from .bounds import beyond, level_bounds, numeric_bounds
from .cells import flag_of_word, is_text
from .schema import Column, check_columns
from .summary import column_summary
from .times import from_days, to_days

MAX_Z = 1e6  # standardised values beyond ±MAX_Z (new rows only) are clipped: scores stay finite
# how far past the range of fit's values, in ranges, a new row's number reaches an
# imputer's networks (chosen on new rows of the development half: benchmarks/README.md)
BEYOND_FIT = 0.25


class TabularEncoder:
    """Encode a DataFrame whose columns follow ``schema``; decode back.

    Parameters
    ----------
    schema : list of Column
    center, scale : ndarray of shape (n_continuous,)
        Standardisation of the continuous columns.
    fill : ndarray of shape (width,)
        Encoded value given to a missing cell.
    low, high : ndarray of shape (width,), optional
        Each encoded dimension's smallest and largest value over the fitted
        table, filled cells included (what salt-and-pepper noise draws, and
        how :meth:`unseen` tells new rows' far numbers); known after
        :meth:`fit`, and in a model file (one written before they were
        kept has none: its new rows' numbers are never called far).
    constant : sequence of bool, optional
        Which continuous columns held one value in fit (default: told by
        ``low`` and ``high``): they decode to it exactly, never to a draw near it.
    """

    def __init__(self, schema, center, scale, fill, low=None, high=None, constant=None):
        self.schema = list(schema)
        self.center = np.asarray(center, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.fill = np.asarray(fill, dtype=np.float64)
        self.low = None if low is None else np.asarray(low, dtype=np.float64)
        self.high = None if high is None else np.asarray(high, dtype=np.float64)
        self.width = sum(c.width for c in self.schema)
        # column_of_dim[j]: the column that encoded dimension j belongs to, shape (width,)
        self.column_of_dim = np.repeat(np.arange(len(self.schema)), [c.width for c in self.schema])
        starts = np.concatenate([[0], np.cumsum([c.width for c in self.schema])[:-1]])
        self.start = starts.astype(int)
        self.continuous = [i for i, c in enumerate(self.schema) if c.kind == "continuous"]
        self.unit = [i for i, c in enumerate(self.schema) if c.kind == "unit"]
        if constant is None:  # told by the extremes where they are known
            dims = self.start[self.continuous]
            constant = [False] * len(dims) if low is None else self.low[dims] == self.high[dims]
        self.constant = np.asarray(constant, dtype=bool)
        n_cont = len(self.continuous)
        if (
            len(self.fill) != self.width
            or any(b is not None and len(b) != self.width for b in (self.low, self.high))
            or n_cont != len(self.center)
            or n_cont != len(self.constant)
        ):
            raise AekitError("encoder statistics do not match the schema")

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, df: pd.DataFrame, schema: Sequence[Column]) -> TabularEncoder:
        """Learn scaling statistics and fill values from the observed cells."""
        schema = list(schema)
        df = _as_numbers(df, schema)
        cont = [c.name for c in schema if c.kind == "continuous"]
        center, scale, *extremes = column_summary(_numeric(df, cont, keep_floats=True))
        # a constant column has std 0; dividing by 1 keeps it at 0 instead of NaN; its
        # centre is its value itself, which a mean may miss in the last digit
        scale = np.where(scale > 0, scale, 1.0)
        center = np.where(extremes[0] == extremes[1], extremes[0], center)
        cont_bounds = iter(zip(*numeric_bounds(*extremes, center, scale), strict=True))
        units = _numeric(df, [c.name for c in schema if c.kind == "unit"], keep_floats=True)
        unit_mean, _, *extremes = column_summary(units, std=False)
        unit_bounds = iter(zip(*numeric_bounds(*extremes, 0.0, 1.0, unit_mean), strict=True))
        unit_mean = iter(unit_mean)
        fill, low, high = [], [], []
        for col in schema:
            if col.kind == "continuous":
                bounds, group = next(cont_bounds), [0.0]
            elif col.kind == "unit":
                bounds, group = next(unit_bounds), [next(unit_mean)]
            else:
                codes = _codes(df[col.name], col)
                counts = np.bincount(codes[codes >= 0], minlength=len(col.categories))
                group, bounds = counts / counts.sum(), level_bounds(counts)
                if col.kind == "binary":  # one dimension: the second level's
                    group, bounds = group[1:], (bounds[0][1:], bounds[1][1:])
            fill.append(group)
            low.append(np.atleast_1d(bounds[0]))
            high.append(np.atleast_1d(bounds[1]))
        return cls(schema, center, scale, *map(np.concatenate, (fill, low, high)))

    # ------------------------------------------------------------ encode
    def encode(
        self, df: pd.DataFrame, *, name: str = "X", within_fit: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode a table; ``within_fit``: each number beyond the range of the
        values fit saw at that range's end (a network's input for new rows:
        beyond its training rows a perceptron's output runs off linearly, and a
        record number or a date of later rows made an imputer fill their other
        cells with numbers several standard deviations out).

        Returns
        -------
        x : ndarray of shape (n_samples, width), float32
            Encoded values, missing cells filled.
        mask : ndarray of shape (n_samples, n_columns), bool
            True where the cell was observed.
        """
        df = check_columns(df, self.schema, name=name)
        _check_numbers(df, self.schema, name)
        df = _as_numbers(df, self.schema)
        n = len(df)
        x = np.empty((n, self.width), dtype=np.float32)
        mask = np.empty((n, len(self.schema)), dtype=bool)
        if self.continuous:
            names = [self.schema[i].name for i in self.continuous]
            values = _numeric(df, names, name=name, keep_floats=True)
            dims, cols = as_slice(self.start[self.continuous]), as_slice(self.continuous)
            step = block_rows(values.shape[1])
            for s in range(0, n, step):  # blocks of rows: the arithmetic stays in cache
                z = values[s : s + step].astype(np.float64)  # a copy: never df's memory
                inf = np.isinf(z)
                if inf.any():
                    bad = names[int(np.flatnonzero(inf.any(axis=0))[0])]
                    raise AekitError(f"column {bad!r} of {name} contains inf; use a number or NaN")
                z -= self.center
                z /= self.scale
                np.clip(z, -MAX_Z, MAX_Z, out=z)
                if within_fit and self.low is not None:
                    reach = BEYOND_FIT * (self.high[dims] - self.low[dims])
                    np.clip(z, self.low[dims] - reach, self.high[dims] + reach, out=z)
                missing = np.isnan(z)
                if missing.any():  # a complete block skips the fill
                    np.copyto(z, 0.0, where=missing)
                x[s : s + step, dims] = z
                mask[s : s + step, cols] = ~missing
        if self.unit:
            names = [self.schema[i].name for i in self.unit]
            values = _numeric(df, names, name=name)
            observed = ~np.isnan(values)
            outside = observed & ((values < 0) | (values > 1))
            if outside.any():
                j = int(np.flatnonzero(outside.any(axis=0))[0])
                raise AekitError(
                    f"column {names[j]!r} of {name} holds {values[outside[:, j], j][0]!r}, "
                    "outside [0, 1] (pixels and proportions lie in [0, 1])"
                )
            cols = self.start[self.unit]
            x[:, as_slice(cols)] = np.where(observed, values, self.fill[cols])
            mask[:, as_slice(self.unit)] = observed
        for i, col in enumerate(self.schema):
            if col.kind in ("continuous", "unit"):
                continue
            codes = _codes(df[col.name], col, name=name)
            observed = codes >= 0
            mask[:, i] = observed
            lo = self.start[i]
            if col.kind == "binary":
                x[:, lo] = np.where(observed, codes, self.fill[lo])
            else:
                k = col.width
                group = np.where(observed[:, None], 0.0, self.fill[lo : lo + k])
                group[np.flatnonzero(observed), codes[observed]] = 1.0
                x[:, lo : lo + k] = group
        return x, mask

    def outside(self, df: pd.DataFrame, *, name: str = "X") -> list[tuple[str, int, int, int]]:
        """For each continuous column (numbers, times) of ``df``, columns in the
        fitted order: its name, how many of its observed cells lie below and
        above the range of the values fit saw, and how many are observed."""
        if not self.continuous or self.low is None:
            return []
        z, low, high = self._against_fit(check_columns(df, self.schema, name=name), name)
        seen = np.isfinite(z)
        below, above = (seen & (z < low)).sum(0), (seen & (z > high)).sum(0)
        names = [self.schema[i].name for i in self.continuous]
        return list(zip(names, below.tolist(), above.tolist(), seen.sum(0).tolist(), strict=True))

    def _against_fit(self, df: pd.DataFrame, name: str) -> tuple[np.ndarray, ...]:
        """``(z, low, high)``: the continuous columns of ``df`` standardised, NaN
        where missing, and the ends of the values fit saw in the same units."""
        names = [self.schema[i].name for i in self.continuous]
        z = (_numeric(_as_numbers(df, self.schema), names, name=name) - self.center) / self.scale
        dims = self.start[self.continuous]
        return z, self.low[dims], self.high[dims]

    def unseen(self, df: pd.DataFrame, *, name: str = "X", numbers: bool = False) -> np.ndarray:
        """The cells of ``df`` (columns in the fitted order) whose values this
        encoder does not know (a category, or a binary column's value, absent
        in fit, or a category no row of fit held: the model gives it no
        probability), shape (n, n_columns) bool; :meth:`encode` refuses the first.
        With ``numbers``, also the numbers further than :data:`~.bounds.FAR`
        times their column's range beyond the values fit saw (once known)."""
        df = check_columns(df, self.schema, name=name)
        out = np.zeros(df.shape, dtype=bool)
        if numbers and self.continuous and self.low is not None:
            _check_numbers(df, self.schema, name)  # a column of another type: refused first
            out[:, self.continuous] = beyond(*self._against_fit(df, name))
        for i, col in enumerate(self.schema):
            if col.kind in ("binary", "categorical"):
                s = flags_as_levels(df[col.name], col)
                code = pd.Index(list(col.categories)).get_indexer(s)
                known = code >= 0
                if col.kind == "categorical":  # a level's fill is its frequency in fit
                    seen = self.fill[self.start[i] : self.start[i] + col.width] > 0
                    known &= seen[np.where(known, code, 0)]
                out[:, i] = ~known & s.notna().to_numpy()
        return out

    # ------------------------------------------------------------ decode
    def decode(self, values: np.ndarray, index=None) -> pd.DataFrame:
        """Turn encoded-space means or draws back into a table.

        Parameters
        ----------
        values : ndarray of shape (n_samples, width)
            Standardised values for continuous columns, probabilities (or 0/1
            draws) for binary ones, level probabilities (or one-hot draws) for
            categorical groups.
        index : pandas Index, optional
            Index of the returned frame (default: 0..n-1).
        """
        values = np.asarray(values, dtype=np.float64)
        out = {}
        for i, col in enumerate(self.schema):
            lo = self.start[i]
            if col.kind == "continuous":
                j = self.continuous.index(i)
                raw = values[:, lo] * self.scale[j] + self.center[j]
                if self.constant[j]:  # one value in fit: that value, not a draw near it
                    raw = np.full(len(values), self.center[j])
                out[col.name] = _restore_numeric(raw, col)
            elif col.kind == "unit":
                out[col.name] = _restore_numeric(np.clip(values[:, lo], 0.0, 1.0), col)
            elif col.kind == "binary":
                level = (values[:, lo] > 0.5).astype(int)
                out[col.name] = _restore_levels(level, col)
            else:
                level = values[:, lo : lo + col.width].argmax(axis=1)
                out[col.name] = _restore_levels(level, col)
        frame = pd.DataFrame(out, columns=[c.name for c in self.schema])
        if index is not None:
            frame.index = index
        return frame

    # ------------------------------------------------------------- state
    def state(self) -> dict:
        """JSON-safe state; :meth:`from_state` rebuilds an equal encoder."""
        return {
            "columns": [c.to_dict() for c in self.schema],
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
            "fill": self.fill.tolist(),
            "constant": self.constant.tolist(),
            **({} if self.low is None else {"low": self.low.tolist(), "high": self.high.tolist()}),
        }

    @classmethod
    def from_state(cls, state: dict) -> TabularEncoder:
        schema = [Column.from_dict(c) for c in state["columns"]]
        center = np.asarray(state["center"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        if not (np.isfinite(center).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise AekitError("encoder statistics: centres must be finite, scales finite and > 0")
        # a model file written before "constant" decodes every column as it did
        low, high = state.get("low"), state.get("high")  # later files: new rows' far numbers
        return cls(schema, center, scale, state["fill"], low, high, state.get("constant"))


def _numeric(df: pd.DataFrame, names, *, name: str = "X", keep_floats=False) -> np.ndarray:
    """The named columns as one float64 array, NaN where missing (``keep_floats``:
    columns that are all float32 come as they are, often a view of ``df``)."""
    if not names:
        return np.zeros((len(df), 0))
    every = len(names) == df.shape[1] and list(names) == list(df.columns)
    part = df if every else df[names]
    if keep_floats and all(d == np.float32 for d in part.dtypes):
        return part.to_numpy()
    try:  # every column: no copy of the frame first
        return part.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    # column by column: object columns of numbers with pd.NA among them convert
    # alone, not in a frame of mixed dtypes; else this finds the column at fault
    out = np.empty((len(df), len(names)))
    for j, c in enumerate(names):
        try:
            out[:, j] = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            bad = pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()
            example = df[c][bad].iloc[0]
            raise AekitError(
                f"column {c!r} of {name} is numeric but holds {example!r}; use numbers or NaN"
            ) from None
    return out


def numbers(s: pd.Series, col: Column) -> np.ndarray:
    """A continuous or unit column's values as float64 (times in days), NaN where missing."""
    if col.time:
        return to_days(s, col.time)
    return pd.to_numeric(s.where(s.notna(), np.nan)).to_numpy(dtype=np.float64, na_value=np.nan)


def _check_numbers(df: pd.DataFrame, schema, name: str) -> None:
    """Refuse a column of numbers in fit that comes as times, durations or flags:
    read as numbers they would mean something else (nanoseconds, 0/1)."""
    for col in schema:
        if col.kind not in ("continuous", "unit") or col.time:
            continue
        dtype = df[col.name].dtype
        types = pd.api.types
        if (
            types.is_bool_dtype(dtype)
            or types.is_datetime64_any_dtype(dtype)
            or types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype))
        ):
            raise AekitError(
                f"column {col.name!r} of {name} has dtype {dtype}; it held numbers "
                f"({col.dtype}) in fit: give it its dtype of fit"
            )


def _as_numbers(df: pd.DataFrame, schema) -> pd.DataFrame:
    """``df`` with its columns of times as days since 1970 (a shallow copy), or
    ``df`` itself when it has none."""
    times = [c for c in schema if c.time]
    if not times:
        return df
    out = df.copy(deep=False)
    for col in times:
        out[col.name] = to_days(df[col.name], col.time)
    return out


def _codes(s: pd.Series, col: Column, *, name: str = "X") -> np.ndarray:
    """Level index of each cell, -1 where missing; unseen levels are an error."""
    s = flags_as_levels(s, col)
    codes = pd.Index(list(col.categories)).get_indexer(s).astype(np.int64)
    notna = s.notna().to_numpy()
    codes[~notna] = -1
    unseen = (codes < 0) & notna
    if unseen.any():
        levels = pd.unique(s[unseen]).tolist()[:5]
        raise AekitError(
            f"column {col.name!r} of {name} has values not seen in fit: {levels}; "
            f"known values are {list(col.categories)}"
        )
    return codes


def flags_as_levels(s: pd.Series, col: Column) -> pd.Series:
    """A binary column's cells as its fitted levels where they are the same flags
    written the other way: 1/0 or the text TRUE/FALSE for a column of True/False,
    or True/False for a column of 1/0 (a file written by another tool)."""
    if col.kind != "binary" or not len(s):
        return s
    # False == 0 and True == 1 in Python: the levels' types tell flags from numbers
    flags = all(isinstance(c, (bool, np.bool_)) for c in col.categories)
    types = pd.api.types
    if types.is_bool_dtype(s.dtype) or types.infer_dtype(s, skipna=True) == "boolean":
        return s if flags else s.astype(object).map({False: 0, True: 1}, na_action="ignore")
    if flags and types.is_numeric_dtype(s.dtype) and s.dropna().isin([0, 1]).all():
        return s.astype(object).map({0: False, 1: True}, na_action="ignore")
    if flags and is_text(s):  # "TRUE", "false"
        return s.map(flag_of_word, na_action="ignore")
    return s


def _restore_numeric(raw: np.ndarray, col: Column) -> pd.Series:
    dtype = col.pandas_dtype()
    if col.time:
        return from_days(raw, col.time, dtype, col.whole)
    if col.whole:
        raw = np.rint(raw)
    if pd.api.types.is_integer_dtype(dtype):
        raw = np.clip(np.rint(raw), *integer_range(dtype))
    return pd.Series(raw).astype(dtype)


def integer_range(dtype) -> tuple[float, float]:
    """The floats nearest the ends of an integer dtype's range that lie inside it
    (2**63 - 1 is not a float64: clipping to its rounding would overflow)."""
    info = np.iinfo(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
    low, high = float(info.min), float(info.max)
    if int(high) > info.max:
        high = float(np.nextafter(high, 0.0))
    return low, high


def _restore_levels(level: np.ndarray, col: Column) -> pd.Series:
    dtype = col.pandas_dtype()
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical.from_codes(level, dtype=dtype))
    values = np.array(col.categories, dtype=object)[level]
    return pd.Series(values).astype(dtype)
