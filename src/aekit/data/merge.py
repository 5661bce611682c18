"""The completed table a user gets back: the imputed values in the missing
cells of the user's own frame, each column in the user's dtype; observed cells
are never touched."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd

from ..errors import AekitError, warn
from .bounds import FAR

SHOWN = 5  # the values a warning names, at most, a column


def merge_observed(df: pd.DataFrame, imputed: pd.DataFrame) -> pd.DataFrame:
    """df with its missing cells taken from imputed; observed cells untouched."""
    out = {}
    for col in df.columns:
        s, filled = df[col], imputed[col]
        missing = s.isna()
        if not missing.any():
            out[col] = s
        elif missing.all():  # nothing observed here (a chunk may read such a column as
            out[col] = filled  # floats): the imputed column in the fitted dtype
        else:
            if isinstance(s.dtype, pd.CategoricalDtype):
                s = _with_levels(s, filled[missing])
            out[col] = s.where(~missing, _cast_like(s, filled))
    return pd.DataFrame(out, index=df.index, columns=df.columns)


def unknown_as_missing(df: pd.DataFrame, unseen: np.ndarray, notes=None) -> pd.DataFrame:
    """``df`` with its cells ``unseen`` (bool, of its shape: values a model never
    saw in fit) missing, so that they impute none of their rows' other cells, and
    a warning naming them (:func:`warn_unseen`), or with ``notes`` (a file's
    :class:`~aekit.data.empty.ChunkWarnings`) their values noted for one warning
    at the file's end; :func:`merge_observed` gives them back as they were."""
    if not unseen.any():
        return df
    columns = {
        df.columns[j]: pd.unique(df.iloc[unseen[:, j], j])[:SHOWN].tolist()
        for j in np.flatnonzero(unseen.any(axis=0))
    }
    warn_unseen(columns) if notes is None else notes.unseen(columns)
    return df.mask(unseen)


def warn_unseen(columns: dict, name: str = "X") -> None:
    """Say which values of ``name`` fit never saw (``columns``: column -> values)."""
    warn(
        f"{name} holds values not seen in fit, or numbers further than {FAR} times their "
        f"column's range from the values it saw ({columns}); they are kept as given "
        "and read as missing to impute the other cells of their rows"
    )


def _with_levels(s: pd.Series, imputed: pd.Series) -> pd.Series:
    """A category column whose dtype lacks levels the model imputed (e.g. a batch
    whose categories were taken from its own values), with those levels added
    and a warning: a cell cast to a dtype without its level would be lost."""
    known = set(s.cat.categories)
    extra = [v for v in pd.unique(imputed.dropna()) if v not in known]
    if not extra:
        return s
    warn(
        f"column {s.name!r}: imputed level(s) {extra[:5]} are not categories of X's dtype; "
        "they are added to the categories of the output"
    )
    return s.cat.add_categories(extra)


def _cast_like(s: pd.Series, filled: pd.Series) -> pd.Series:
    """``filled`` in the dtype of ``s``. An object column keeps one type of value:
    ``decimal.Decimal`` values (e.g. a Parquet decimal column) get Decimals to
    the places its observed values have, Python integers get integers; an
    integer column gets whole numbers (its observed values are)."""
    kind = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else ""
    if kind == "decimal":
        places = [v.as_tuple().exponent for v in s.dropna()]
        step = decimal.Decimal(1).scaleb(min(p for p in places if isinstance(p, int)))
        return filled.map(lambda v: decimal.Decimal(repr(float(v))).quantize(step))
    if kind == "integer":  # imputed as whole numbers (the column's schema says so)
        return filled.map(lambda v: round(float(v))).astype(object)
    numeric = pd.api.types.is_numeric_dtype
    if (
        pd.api.types.is_integer_dtype(s.dtype)
        and numeric(filled.dtype)
        and not pd.api.types.is_integer_dtype(filled.dtype)
    ):  # a column of floats in fit, of integers here
        filled = filled.round()  # out of the dtype's range: refused below
    try:
        return filled.astype(s.dtype)
    except (TypeError, ValueError, OverflowError):
        example = filled.dropna().iloc[0] if filled.notna().any() else None
        raise AekitError(
            f"column {s.name!r} has dtype {s.dtype} in X but {filled.dtype} in fit: the "
            f"imputed values (e.g. {example!r}) do not fit it; give the column its "
            "dtype of fit"
        ) from None
