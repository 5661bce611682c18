"""Columns of a table (in memory or a file) that hold no observed value: a form's
unused field, a survey question nobody answered. A model has nothing to learn
them from, so it refuses them (:func:`~aekit.data.cells.entirely_missing`); an
imputer, which must return every column it was given, leaves them out of its
models and passes them through as they came; a detector leaves them out and
scores rows by their other cells. Both do the same with a text column of
identifiers, names or free text (a patient's key, an author, a title: at least
:data:`~aekit.data.cells.IDENTIFIERS` values, half of its cells or more a value
no other cell holds; :func:`~aekit.data.cells.keys_or_text`): a level seen once
teaches a model nothing about other rows (as categories such a column made the
imputer fill the other columns worse: README, "When things go wrong"), an
imputed key or title would be another row's, and a new row's, never seen in
fit, would make it an anomaly (a plain model still takes such a column as
categories, with a warning)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import AekitError, ModelFileError, warn
from .cells import IDENTIFIERS, is_text, keys_or_text, name_of, unnamed_position
from .merge import SHOWN, warn_unseen
from .schema import as_frame
from .times import text_format


@dataclass(frozen=True)
class EmptyColumns:
    """The positions of a table's empty columns, their names when the table's
    columns are all named by strings, and the table's width."""

    positions: tuple[int, ...] = ()  # the columns left out: empty ones and identifiers
    names: tuple[str, ...] | None = None
    n_features: int = 0
    # those of ``positions`` that hold identifiers, names or free text (keys_or_text)
    identifiers: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.positions)

    @classmethod
    def of(cls, table) -> EmptyColumns:
        """The empty columns and the columns of identifiers, names or free text (a
        value of their own in half of their cells or more) of a table in memory
        or a file (none for images or a table without rows); an error when every
        column is one or the other."""
        if table.image_shape is not None:
            return cls()
        columns = list(table.columns)
        if table.in_memory:
            frame = table.frame
            if len(frame) == 0:
                return cls()
            empty = np.flatnonzero(frame.isna().all().to_numpy()).tolist()
            ids = _identifiers(frame) if table.is_frame else []  # an array's: numbers
        else:  # the file's first pass (made once; fit needs it anyway)
            empty = [columns.index(name) for name in table.summary.empty]
            ids = [columns.index(name) for name in table.summary.identifiers]
        left = sorted(empty + ids)
        if not left:
            return cls()
        if len(empty) == len(columns):
            raise AekitError(
                f"{table.name} has no observed value: each of its {len(columns)} column(s) "
                "is entirely missing"
            )
        if len(left) == len(columns):
            raise AekitError(
                f"{table.name} has nothing to model: its columns are identifiers, names or "
                "free text (a value of their own in half of their cells or more: "
                f"{[columns[p] for p in ids][:5]}) or entirely missing"
            )
        named = all(isinstance(c, str) for c in columns)
        names = tuple(columns[p] for p in left) if named else None
        return cls(tuple(int(p) for p in left), names, len(columns), tuple(int(p) for p in ids))

    @property
    def empty(self) -> list[int]:
        """The positions of the empty columns (not the identifiers)."""
        return [p for p in self.positions if p not in self.identifiers]

    def warn(self, table, fate: str, keys: str | None = None) -> None:
        """Name the columns of ``table`` left out of the models, and what becomes of
        them: ``fate`` (of the identifiers: ``keys``, by default the same)."""
        for group, end in ((self.empty, fate), (self.identifiers, keys or fate)):
            labels = [
                f"{p} (no name in its header)"
                if (p := unnamed_position(c)) is not None
                else _label(c)
                for c in (table.columns[p] for p in group)
            ]
            many = len(labels) > 1
            its = "their" if many else "its"
            own = f"a value of {its} own in half of {its} observed cells or more"
            keys = group is self.identifiers
            what = f"{own} (keys, names, free text?)" if keys else "no observed value"
            if labels:
                warn(
                    f"column{'s' if many else ''} {', '.join(labels)} of {table.name} "
                    f"{'have' if many else 'has'} {what}: left out of the models; {end}"
                )

    def held(self, X) -> list[str]:
        """The empty columns of fit that hold values in ``X``, as messages name them."""
        if not self:
            return []
        frame, _ = as_frame(X)
        return [_label(frame.columns[p]) for p in self.empty if frame.iloc[:, p].notna().any()]

    def warn_values(
        self,
        X,
        fate: str = "returned as given, and their missing cells stay missing",
        *,
        held: list[str] | None = None,
        name: str | None = None,
    ) -> None:
        """Say which empty columns of fit hold values in ``X`` (or, for the chunks
        of the file ``name``, which did: ``held``), and what becomes of them
        (``fate``; by default, an imputer's)."""
        held = self.held(X) if held is None else held
        if held:
            warn(
                f"column(s) {', '.join(held)} of {name or name_of(X)} had no observed value "
                f"in fit: their values are {fate}"
            )

    def as_observed(self, observed: np.ndarray) -> np.ndarray:
        """A table's mask of observed cells with the empty columns' cells marked
        observed (written back as the input wrote them, missing-value markers too)."""
        if self:
            observed = observed.copy()
            observed[:, list(self.positions)] = True
        return observed

    def drop_from(self, table):
        """A table (in memory or a file) without the empty columns."""
        if not self:
            return table
        keep = np.setdiff1d(np.arange(self.n_features), self.positions)
        if table.in_memory and not table.is_frame:  # an array's: numbered as drop numbers them
            return table.with_frame(table.frame.iloc[:, keep].set_axis(range(len(keep)), axis=1))
        smaller = table.map(lambda i, chunk: chunk.iloc[:, keep])
        if not table.in_memory and "summary" in vars(table) and not self.identifiers:
            # a file scanned already: its statistics, which leave the empty columns
            # out, without a second pass (its identifiers are in them: a pass)
            kept = [table.summary.columns[k] for k in keep]
            smaller.summary = dataclasses.replace(table.summary, columns=kept, empty=())
        return smaller

    def drop(self, X):
        """``X`` without the empty columns: a DataFrame, or an array of the values;
        an error when its width, or the names at their places, are not the table's."""
        if not self:
            return X
        frame, is_frame = as_frame(X)
        if frame.shape[1] != self.n_features:
            raise AekitError(
                f"X has {frame.shape[1]} columns; fit saw {self.n_features} (those left out "
                "of the models, empty or identifiers, included)"
            )
        at = [frame.columns[p] for p in self.positions]
        if self.names is not None and not all(isinstance(c, str) for c in frame.columns):
            raise AekitError(f"X has no column names; fit saw them ({list(self.names)} and others)")
        if self.names is not None and at != list(self.names):
            raise AekitError(
                f"X does not match the columns seen in fit: {list(self.names)} expected at "
                f"positions {list(self.positions)}, found {at}"
            )
        keep = np.setdiff1d(np.arange(frame.shape[1]), self.positions)
        kept = frame.iloc[:, keep]
        return kept if is_frame else kept.to_numpy()

    def restore(self, out, X, *, as_given: bool = True):
        """``out`` (the completed :meth:`drop` of ``X``) with ``X``'s empty columns
        back in their places, as ``X`` holds them (``as_given=False``: NaN)."""
        if not self:
            return out
        frame, _ = as_frame(X)
        if isinstance(out, pd.DataFrame):
            out = out.copy(deep=False)
            for p in self.positions:  # in increasing order: each goes to its final place
                given = frame.iloc[:, p].array.copy() if as_given else np.full(len(out), np.nan)
                out.insert(p, frame.columns[p], given)
            return out
        at = [p - i for i, p in enumerate(self.positions)]
        given = frame.iloc[:, list(self.positions)].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.insert(out, at, given.astype(out.dtype) if as_given else np.nan, axis=1)

    def missing_in(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (the other columns, named) with the empty columns back in their
        places, every cell missing: e.g. rows drawn from a model."""
        out, names = frame.copy(deep=False), self.names
        if names is None:  # an array's: its columns numbered as the table numbers them
            out.columns = np.setdiff1d(np.arange(self.n_features), self.positions)
            names = self.positions
        for p, name in zip(self.positions, names, strict=True):
            out.insert(p, name, np.nan)
        return out

    def widen(self, names: np.ndarray) -> np.ndarray:
        """The names of the table's columns from those of its other columns."""
        full = list(names)
        for p, name in zip(self.positions, self.names, strict=True):
            full.insert(p, name)
        return np.asarray(full, dtype=object)

    def state(self) -> dict | None:
        """JSON-safe (for a model file); None when there are none."""
        if not self:
            return None
        names = None if self.names is None else list(self.names)
        state = {"positions": list(self.positions), "names": names, "n_features": self.n_features}
        return {**state, "identifiers": list(self.identifiers)} if self.identifiers else state

    @classmethod
    def from_state(cls, state: dict | None) -> EmptyColumns:
        if not state:
            return cls()
        names, positions, width = state["names"], state["positions"], int(state["n_features"])
        ids = state.get("identifiers", [])  # none in a file written before them
        if (
            type(ids) is not list
            or not all(type(p) is int for p in ids)
            or not set(ids) <= set(positions)
        ):
            raise ModelFileError(
                f"the model file's identifiers {ids!r} are not its left-out columns"
            )
        if (
            not positions
            or not all(type(p) is int for p in positions)
            or positions != sorted(set(positions))
            or not 0 <= positions[0] <= positions[-1] < width
            or not (names is None or (type(names) is list and len(names) == len(positions)))
            or not all(isinstance(n, str) for n in names or ())
        ):
            raise ModelFileError(f"the model file's empty columns {state!r} do not fit its table")
        names = None if names is None else tuple(names)
        return cls(tuple(int(p) for p in positions), names, width, tuple(sorted(ids)))


def _identifiers(frame: pd.DataFrame) -> list[int]:
    """The positions of ``frame``'s text columns of identifiers, names or free text
    (:func:`~aekit.data.cells.keys_or_text`) that are not times (ISO dates)."""
    out = []
    for j in range(frame.shape[1]):
        s = frame.iloc[:, j]
        if not is_text(s):
            continue
        observed = s.dropna()
        if len(observed) < IDENTIFIERS:
            continue
        if pd.api.types.infer_dtype(observed, skipna=True) not in ("string", "unicode"):
            continue  # dates, numbers, flags stored as objects
        if keys_or_text(observed.value_counts(sort=False)) and not text_format(observed):
            out.append(j)
    return out


class ChunkWarnings:
    """The warnings about a file imputed chunk by chunk, each said once for the file
    ``name``: the empty columns of fit that hold values (when a chunk first shows
    them), and at its end the values fit never saw (the first few of each
    column, over the file) and the rows without an observed cell."""

    def __init__(self, empty: EmptyColumns, name: str):
        self.empty, self.name, self.held, self.rows = empty, name, set(), []
        self.values: dict = {}  # column -> the values fit never saw, the first SHOWN

    def unseen(self, columns: dict) -> None:
        """Note a chunk's values that fit never saw (column -> values)."""
        for name, values in columns.items():
            kept = self.values.setdefault(name, [])
            kept += [v for v in values if v not in kept][: SHOWN - len(kept)]

    def chunk(self, chunk: pd.DataFrame, df: pd.DataFrame) -> None:
        """Note a chunk as read and ``df``, the models' frame of it."""
        new = [label for label in self.empty.held(chunk) if label not in self.held]
        self.held.update(new)
        self.empty.warn_values(None, held=new, name=self.name)
        self.rows.append(empty_rows(df))

    def close(self) -> None:
        if self.values:
            warn_unseen(self.values, self.name)
        warn_empty_rows(pd.Index([]).append(self.rows), self.name)


def empty_rows(df: pd.DataFrame) -> pd.Index:
    """The labels of the rows of ``df`` without an observed cell (none for one column)."""
    return df.index[df.isna().all(axis=1).to_numpy()] if df.shape[1] > 1 else df.index[:0]


def warn_empty_rows(rows: pd.Index, name: str = "X") -> None:
    """Say which rows of ``name`` had nothing to impute from (e.g. the empty lines a
    spreadsheet leaves at the end of an export): each was filled with the same values."""
    if len(rows):
        warn(
            f"{len(rows)} row(s) of {name} have no observed cell (e.g. {rows[:3].tolist()}): "
            "nothing in them to impute from, so each gets the same values"
        )


def _label(name) -> str:
    """A column's name as a message shows it (NumPy integers as plain numbers)."""
    return repr(name.item() if isinstance(name, np.generic) else name)
