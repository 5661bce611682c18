"""Column types of a user's table, inferred from NumPy and pandas dtypes.

Four kinds of column, each with its own observation model:

- ``continuous``: numbers (Gaussian likelihood on standardised values), and
  dates and times (as days, see :mod:`aekit.data.times`);
- ``binary``: booleans, or numbers whose observed values are exactly {0, 1}
  (Bernoulli likelihood), except in a float NumPy array: there a column is
  continuous whatever values it holds (two distinct values in an array of
  floats are no evidence of a binary variable);
- ``categorical``: pandas ``category``, ``object`` or ``string`` columns
  (categorical likelihood over a one-hot group);
- ``unit``: numbers in [0, 1] such as pixel intensities or proportions, kept
  as they are and scored by the Bernoulli cross-entropy (never inferred: image
  input and ``column_types`` ask for it).

The schema also remembers each column's dtype, so that outputs come back in the
user's own types (``Int64`` stays ``Int64``, a category keeps its levels, a
float column whose observed values are all whole numbers gets whole numbers).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AekitError
from ..indexing import blocks
from .cells import check_cells, entirely_missing, refuse_stray_text
from .times import (
    DATETIME,
    DURATION,
    LIMIT,
    PERIOD,
    check_datetime,
    text_format,
    to_days,
    undecided,
)

KINDS = ("continuous", "binary", "categorical", "unit")


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind, dtype and (if discrete) levels."""

    name: Hashable
    kind: str
    dtype: str
    categories: tuple = field(default=())
    ordered: bool = False
    whole: bool = False  # a float column of whole numbers: decoded to whole numbers
    time: str = ""  # a column of times: its text format, or "datetime64" (aekit.data.times)

    @property
    def width(self) -> int:
        """Number of encoded dimensions: K for a categorical, else 1."""
        return len(self.categories) if self.kind == "categorical" else 1

    def pandas_dtype(self):
        """The dtype to restore on output."""
        if self.dtype == "category":
            return pd.CategoricalDtype(list(self.categories), ordered=self.ordered)
        return pd.api.types.pandas_dtype(self.dtype)

    def to_dict(self) -> dict:
        return {
            "name": _plain(self.name),
            "kind": self.kind,
            "dtype": self.dtype,
            "categories": [_plain(c) for c in self.categories],
            "ordered": self.ordered,
            "whole": self.whole,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Column:
        if d.get("kind") not in KINDS:
            raise AekitError(f"schema: unknown column kind {d.get('kind')!r}")
        if d["dtype"] != "category":
            try:
                pd.api.types.pandas_dtype(d["dtype"])
            except TypeError:
                raise AekitError(f"schema: unknown dtype {d['dtype']!r}") from None
        return cls(
            name=d["name"],
            kind=d["kind"],
            dtype=d["dtype"],
            categories=tuple(d.get("categories", ())),
            ordered=bool(d.get("ordered", False)),
            whole=bool(d.get("whole", False)),
            time=str(d.get("time", "")),
        )


def _plain(value):
    """A NumPy scalar as a plain Python value (for JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise AekitError(
        f"cannot store the value {value!r} of type {type(value).__name__} in a model file; "
        "use strings or numbers for column names and categories"
    )


def as_frame(X, *, name: str = "X") -> tuple[pd.DataFrame, bool]:
    """Return ``X`` as a DataFrame and whether the caller gave a DataFrame.

    NumPy input (and lists) must be numeric; columns are then named 0..p-1.
    Nothing the user passed is modified: a DataFrame is used as it is (no copy),
    arrays are wrapped.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] == 0:
            raise AekitError(f"{name} has no columns")
        dupes = X.columns[X.columns.duplicated()].unique().tolist()
        if dupes:
            raise AekitError(f"{name} has duplicate column names: {dupes}")
        check_cells(X, name)
        return X, True
    if isinstance(X, pd.Series):
        raise AekitError(f"{name} must be 2-D (a DataFrame or an array); got a Series")
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(
            f"{name} is a sparse matrix, which aekit does not accept; pass a dense array"
        )
    if (
        X is None
        or isinstance(X, (str, bytes, dict))
        or not (hasattr(X, "__len__") or hasattr(X, "__array__"))
    ):
        raise TypeError(
            f"{name} must be a pandas DataFrame or a 2-D array-like; got {type(X).__name__}"
        )
    if isinstance(X, np.ma.MaskedArray):  # masked cells are missing cells
        X = X.astype(np.float64 if X.dtype.kind in "biuf" else object).filled(np.nan)
    arr = np.asarray(X)
    if arr.ndim in (3, 4):
        return _image_frame(arr, name), False
    if arr.dtype.kind in "OUS":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{name} must be numeric when given as an array ({exc}); "
                "pass a pandas DataFrame for text or categorical columns"
            ) from exc
    if arr.ndim != 2:
        raise AekitError(
            f"Expected 2D array, got {arr.ndim}D array for {name} of shape {arr.shape}. "
            "Reshape your data with X.reshape(-1, 1) for a single feature or "
            "X.reshape(1, -1) for a single row"
        )
    if arr.dtype.kind == "c":
        raise AekitError(f"Complex data not supported: {name} holds complex numbers")
    if arr.dtype.kind not in "biuf":
        raise AekitError(f"{name} has dtype {arr.dtype}, which aekit cannot model")
    if arr.shape[1] == 0:
        raise AekitError(
            f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required: "
            f"{name} has no columns"
        )
    return pd.DataFrame(arr, copy=False), False


def image_shape_of(X) -> tuple[int, ...] | None:
    """The shape of one image, (H, W) or (C, H, W), when ``X`` is a stack of images
    (an array of 3 or 4 dimensions); None for a table."""
    if isinstance(X, (pd.DataFrame, pd.Series, str, bytes, dict)) or hasattr(X, "tocsr"):
        return None
    try:
        shape = np.asarray(X).shape  # no copy for an array; as_frame converts a list alike
    except (TypeError, ValueError):
        return None  # as_frame says what is wrong with X
    return tuple(int(d) for d in shape[1:]) if len(shape) in (3, 4) else None


def _image_frame(arr: np.ndarray, name: str) -> pd.DataFrame:
    """A stack of images (n, H, W) or (n, C, H, W) as a table with one float
    column per pixel (row-major: channel, row, column); NaN pixels are missing."""
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float32)
    if arr.dtype.kind not in "iuf":
        raise AekitError(f"{name} holds images of dtype {arr.dtype}; images must be numbers")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    if 0 in arr.shape:
        raise AekitError(f"{name} of shape {arr.shape} holds no pixels")
    if arr.ndim == 4 and arr.shape[1] > 4 and arr.shape[3] <= 4:
        raise AekitError(
            f"{name} of shape {arr.shape} looks channels-last; images with channels are "
            "(n, C, H, W): pass X.transpose(0, 3, 1, 2)"
        )
    values = arr[~np.isnan(arr)]
    if np.isinf(values).any():
        raise AekitError(f"{name} contains inf; a missing pixel is NaN")
    if values.size and (values.min() < 0 or values.max() > 1):
        raise AekitError(
            f"{name} holds image values from {values.min():g} to {values.max():g}; images "
            "must lie in [0, 1] (divide 8-bit images by 255)"
        )
    return pd.DataFrame(arr.reshape(len(arr), -1), copy=False)


def image_schema(df: pd.DataFrame, kind: str) -> list[Column]:
    """One column of ``kind`` ("unit" or "continuous") per pixel of an image table;
    a pixel missing in every image is an error (nothing to learn it from)."""
    empty = np.flatnonzero(df.isna().all().to_numpy())
    if len(empty):
        raise AekitError(
            f"{len(empty)} pixel(s) of X (flat index {empty[:5].tolist()}) are missing in "
            "every image; a model needs some observed values of each pixel"
        )
    dtype = str(df.dtypes.iloc[0])
    return [Column(c, kind, dtype) for c in df.columns]


def infer_column(name, s: pd.Series, column_type: str | None, *, array=False, whole=True) -> Column:
    """The :class:`Column` of ``s``; ``column_type`` forces its kind; ``array``: a
    NumPy array's column, where floats are continuous whatever their values;
    ``whole=False``: one chunk of a column (stray text is checked on the whole)."""
    label = f"column {name!r}"
    observed = s.dropna()
    if len(observed) == 0:
        raise entirely_missing(name)
    dtype = s.dtype

    if isinstance(dtype, pd.CategoricalDtype):
        cats = tuple(dtype.categories.tolist())
        return Column(name, "categorical", "category", cats, bool(dtype.ordered))
    if pd.api.types.is_bool_dtype(dtype):
        return Column(name, "binary", str(dtype), (False, True))
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        time = DURATION if pd.api.types.is_timedelta64_dtype(dtype) else DATETIME
        if time == DATETIME:
            check_datetime(label, s)
        days = to_days(observed, time)
        whole = bool(np.all(days == np.rint(days)))  # midnights (dates), or whole days
        return Column(name, "continuous", str(dtype), whole=whole, time=time)
    if isinstance(dtype, pd.PeriodDtype):
        if np.abs(to_days(observed, PERIOD)).max() > LIMIT:
            raise AekitError(f"{label} holds periods before 1680 or after 2260; convert them")
        return Column(name, "continuous", str(dtype), time=PERIOD)
    if isinstance(dtype, pd.IntervalDtype):
        raise AekitError(f"{label} has dtype {dtype}, which aekit cannot model; convert it")
    if pd.api.types.is_complex_dtype(dtype):
        raise AekitError(f"Complex data not supported: {label} holds complex numbers")
    if pd.api.types.is_numeric_dtype(dtype):
        values = observed.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise AekitError(f"{label} contains inf; replace it with a number or NaN")
        if column_type == "categorical":
            return Column(name, "categorical", str(dtype), tuple(np.unique(values).tolist()))
        if column_type == "unit":
            if values.min() < 0 or values.max() > 1:
                raise AekitError(
                    f"{label} was declared unit but holds values outside [0, 1] "
                    f"(from {values.min():g} to {values.max():g})"
                )
            return Column(name, "unit", str(dtype))
        uniq = np.unique(values)
        floats = dtype.kind == "f"
        if column_type == "binary" or (
            column_type is None
            and not (array and floats)
            and len(uniq) == 2
            and uniq[0] == 0
            and uniq[1] == 1
        ):
            if len(uniq) > 2 or not set(uniq.tolist()) <= {0.0, 1.0}:
                raise AekitError(f"{label} was declared binary but holds values other than 0/1")
            return Column(name, "binary", str(dtype), (0, 1))
        whole = floats and bool(np.all(values == np.rint(values)))
        return Column(name, "continuous", str(dtype), whole=whole)

    # object / string columns: text is categorical, numbers stored as objects are numbers
    inferred = pd.api.types.infer_dtype(observed, skipna=True)
    if inferred in ("floating", "integer", "decimal", "mixed-integer-float"):
        # NaN for every missing marker (pd.NaT, None, pd.NA), which to_numeric refuses
        return infer_column(
            name, pd.to_numeric(s.where(s.notna(), np.nan)), column_type, array=array, whole=whole
        )
    if inferred == "boolean":
        return Column(name, "binary", "boolean", (False, True))
    time = text_format(observed, whole) if column_type is None and inferred == "string" else ""
    if time:  # whole: every time a midnight (imputed ones are then days too)
        days = None if undecided(time) else to_days(observed, time)
        midnights = days is not None and bool(np.all(days == np.rint(days)))
        return Column(name, "continuous", str(dtype), whole=midnights, time=time)
    if inferred in ("string", "unicode", "bytes", "categorical"):
        if whole and column_type is None and not isinstance(dtype, pd.CategoricalDtype):
            hint = (
                f"make those cells NaN (read_csv(na_values=...) or pd.to_numeric(df[{name!r}], "
                "errors='coerce')), or read_csv(decimal=',') for decimal commas (on the "
                "command line: aekit --decimal ',' COMMAND ...), or make the column a pandas "
                "category to model it as categories"
            )
            refuse_stray_text(label, observed.value_counts(sort=False), hint)
        levels = pd.unique(observed)
        try:
            levels = sorted(levels)
        except TypeError:
            levels = list(levels)
        return Column(name, "categorical", str(dtype), tuple(levels))
    example = next((v for v in observed if not isinstance(v, str)), observed.iloc[0])
    if inferred in OBJECT_KINDS:  # one type of value, but not one aekit models
        raise AekitError(
            f"{label} holds {type(example).__name__} values (e.g. {example!r}), which aekit "
            f"cannot model; convert it ({OBJECT_KINDS[inferred]})"
        )
    raise AekitError(
        f"{label} mixes types ({inferred}: e.g. {example!r} of type {type(example).__name__}); "
        "make it all numbers or all text"
    )


# object columns of one kind of value aekit does not model, and the way out
OBJECT_KINDS = {
    "datetime": "pd.to_datetime(df[name]) makes it a column of times",
    "date": "pd.to_datetime(df[name]) makes it a column of times",
    "period": "e.g. df[name].dt.to_timestamp(), or its ordinal numbers",
    "interval": "e.g. to the intervals' midpoints",
    "timedelta": "pd.to_timedelta(df[name]) makes it a column of durations",
    "time": "e.g. to hours since midnight",
}


def is_discrete(s: pd.Series) -> bool:
    """Whether a column holds levels (booleans, categories, text), not numbers or
    times (what the schema would make binary or categorical, but numbers 0/1)."""
    if pd.api.types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
        return True
    types = pd.api.types
    if types.is_numeric_dtype(s.dtype) or types.is_datetime64_any_dtype(s.dtype):
        return False
    if isinstance(s.dtype, pd.PeriodDtype):
        return False
    return not (types.is_timedelta64_dtype(s.dtype) or text_format(s.dropna()))


def infer_schema(
    df: pd.DataFrame, column_types: dict | None = None, *, name: str = "X", array: bool = False
) -> list[Column]:
    """Infer one :class:`Column` per column of ``df``.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_features)
    column_types : dict, optional
        Force the kind of some columns, e.g. ``{"smoker": "binary"}``.
    array : bool, default=False
        ``df`` wraps a NumPy array: its float columns are continuous whatever
        values they hold.

    Raises
    ------
    AekitError
        For an empty table, a column that is entirely missing, inf, text mixed
        with numbers, or a dtype aekit cannot model; the message names the column.
    """
    if df.shape[0] == 0:
        raise AekitError(
            f"Found array with 0 sample(s) (shape={df.shape}) while a minimum of 1 is required: "
            f"{name} is empty"
        )
    column_types = dict(column_types or {})
    unknown = [c for c in column_types if c not in df.columns]
    if unknown:
        raise AekitError(f"column_types names columns that {name} does not have: {unknown}")
    for col, kind in column_types.items():
        if kind not in KINDS:
            raise AekitError(f"column_types[{col!r}] must be one of {KINDS}; got {kind!r}")
    quick = _infer_numeric(df, column_types, array)
    return [
        quick[i] if i in quick else infer_column(c, df[c], column_types.get(c), array=array)
        for i, c in enumerate(df.columns)
    ]


def _infer_numeric(df: pd.DataFrame, column_types: dict, array: bool) -> dict[int, Column]:
    """The columns of plain float or integer dtype without a declared kind, by
    position, inferred together in a few passes over one array (a wide table of
    numbers, an image flattened to pixels, would otherwise cost a pandas call per
    column). Columns that need a message (entirely missing, inf) are left out,
    for :func:`_infer_column` to name."""
    dtypes = df.dtypes.to_numpy()
    picked = [
        i
        for i, (c, d) in enumerate(zip(df.columns, dtypes, strict=True))
        if isinstance(d, np.dtype) and d.kind in "iuf" and column_types.get(c) is None
    ]
    if len(picked) < 2:
        return {}
    # in the columns' own dtype (no float64 copy of a float32 table; a view of a
    # table of one float block)
    values = (df if len(picked) == df.shape[1] else df.iloc[:, picked]).to_numpy()
    d = len(picked)
    zero, one, seen_any, inf_any = (np.zeros(d, dtype=bool) for _ in range(4))
    only01, whole = np.ones(d, dtype=bool), np.ones(d, dtype=bool)
    for cols, block in blocks(values):  # in cache, without copies of the whole table
        if block.dtype.kind != "f":
            block = block.astype(np.float64)
        seen = ~np.isnan(block)
        is0, is1 = block == 0, block == 1
        zero[cols] |= is0.any(axis=0)
        one[cols] |= is1.any(axis=0)
        only01[cols] &= (is0 | is1 | ~seen).all(axis=0)
        seen_any[cols] |= seen.any(axis=0)
        inf_any[cols] |= np.isinf(block).any(axis=0)
        whole[cols] &= ((block == np.rint(block)) | ~seen).all(axis=0)
    fine = seen_any & ~inf_any
    floats = np.array([dtypes[i].kind == "f" for i in picked])
    binary = only01 & zero & one & ~(floats & array)
    whole &= floats
    out = {}
    for j, i in enumerate(picked):
        if fine[j]:
            name, dtype = df.columns[i], str(dtypes[i])
            if binary[j]:
                out[i] = Column(name, "binary", dtype, (0, 1))
            else:
                out[i] = Column(name, "continuous", dtype, whole=bool(whole[j]))
    return out


def check_columns(df: pd.DataFrame, schema: Sequence[Column], *, name: str = "X") -> pd.DataFrame:
    """Check that ``df`` has the fitted columns; return it in the fitted order."""
    expected = [c.name for c in schema]
    got = list(df.columns)
    if got == expected:
        return df
    missing = [c for c in expected if c not in got]
    extra = [c for c in got if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unknown columns {extra}")
        raise AekitError(f"{name} does not match the columns seen in fit: " + " and ".join(parts))
    return df[expected]
