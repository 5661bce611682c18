"""The first pass over a streamed table: its schema and scaling statistics.

Statistics are merged chunk by chunk (counts, means and sums of squared
deviations by Chan et al.'s formula, level counts), so that the encoder a file
gives equals the one the whole table gives in memory
(:func:`~aekit.data.schema.infer_schema` and
:meth:`~aekit.data.tabular.TabularEncoder.fit`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AekitError, warn
from .bounds import level_bounds
from .cells import keys_or_text, many_levels, refuse_stray_text
from .schema import Column, infer_column
from .summary import HUGE
from .tabular import TabularEncoder
from .times import DATETIME, DURATION, PERIOD, joint_format, to_days, undecided


@dataclass(frozen=True)
class Summary:
    """What the first pass over a file found: the encoder of every row (its
    ``low`` and ``high`` bounds included) but for its empty columns, the number of
    rows, the columns, the empty ones, and the text columns of identifiers, names
    or free text (their warning is the fit's to give: an imputer or a detector
    leaves such a column out of its models)."""

    encoder: TabularEncoder
    n_rows: int
    columns: list
    empty: tuple = ()  # the columns without an observed value (not in the encoder)
    many: tuple = ()  # (name, (values, cells, values of one cell)): see cells.many_levels
    identifiers: tuple = ()  # those of identifiers, names or free text (cells.keys_or_text)


def scan(source) -> Summary:
    """The first pass over ``source`` (an object whose ``chunks()`` yields
    DataFrames, and which has a ``path``): schema, statistics and row count."""
    stats: dict = {}
    names: list | None = None
    n_rows = 0
    for chunk in source.chunks():
        if names is None:
            names = list(chunk.columns)
            dupes = chunk.columns[chunk.columns.duplicated()].unique().tolist()
            if dupes:
                raise AekitError(f"input {source.path} has duplicate column names: {dupes}")
        elif list(chunk.columns) != names:
            raise AekitError(f"input {source.path}: the columns change at row {n_rows}")
        for name in names:
            _add(stats, name, chunk[name], source.path, n_rows)
        n_rows += len(chunk)
    if names is None or n_rows == 0:
        raise AekitError(f"input {source.path} holds no rows")
    if not names:
        raise AekitError(f"input {source.path} has no columns")
    seen = [name for name in names if name in stats]
    if not seen:
        raise AekitError(
            f"{source.path} has no observed value: each of its {len(names)} column(s) is "
            "entirely missing"
        )
    encoder = _encoder(stats, seen, source.path)
    text = [c.name for c in encoder.schema if c.kind == "categorical"]
    counts = {  # of the text columns' values (not pandas categories)
        name: pd.Series(stats[name][1].counts) for name in text if stats[name][1].categories is None
    }
    many = [(name, many_levels(c)) for name, c in counts.items()]
    ids = tuple(name for name, c in counts.items() if keys_or_text(c))
    if n_rows > 1:
        flags = np.zeros(len(seen), dtype=bool)
        flags[encoder.continuous] = encoder.constant
        discrete = [c.kind == "categorical" and len(c.categories) < 2 for c in encoder.schema]
        one = [n for n, a, b in zip(seen, flags, discrete, strict=True) if a or b]
        warn_one_value(one, str(source.path))
    empty = tuple(n for n in names if n not in stats)
    return Summary(encoder, n_rows, names, empty, tuple((n, m) for n, m in many if m), ids)


def warn_one_value(names: list, label: str = "X") -> None:
    """Warn about columns of ``label`` (a file, or "X") whose observed cells hold
    one value only."""
    if names:
        warn(
            f"column(s) {names[:10]} of {label} hold one value only: they carry no information "
            "(their missing cells are filled with that value); consider dropping them"
        )


@dataclass
class _Numbers:
    """Running statistics of a numeric column: count, mean, sum of squared
    deviations (merged chunk by chunk, Chan et al.'s formula), 0/1 counts,
    whether every value is whole. The mean and deviations are kept in ``unit``s,
    the largest magnitude seen once it passes ``HUGE`` (squares of values near
    1e300 would overflow)."""

    dtype: str
    time: str = ""  # a column of times: their format (values in days)
    unit: float = 1.0
    whole: bool = True
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    zeros: int = 0
    ones: int = 0
    only01: bool = True
    low: float = np.inf
    high: float = -np.inf
    missing: bool = False

    def add(self, values: np.ndarray) -> None:
        seen = ~np.isnan(values)
        self.missing |= not seen.all()
        values = values[seen]
        n = len(values)
        if not n:
            return
        self.low, self.high = min(self.low, values.min()), max(self.high, values.max())
        self.whole &= bool(np.all(values == np.rint(values)))
        big = float(np.abs(values).max())
        if big > HUGE and big > self.unit:  # the running statistics in the new unit
            self.mean, self.m2 = self.mean * self.unit / big, self.m2 * (self.unit / big) ** 2
            self.unit = big
        zeros, ones = int((values == 0).sum()), int((values == 1).sum())
        values = values / self.unit if self.unit != 1.0 else values
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.count * n / total
        self.count = total
        self.zeros += zeros
        self.ones += ones
        self.only01 &= zeros + ones == n


@dataclass
class _Levels:
    """Counts of the levels of a categorical column, in order of first sight."""

    dtype: str
    counts: dict = field(default_factory=dict)
    categories: tuple | None = None  # a pandas category's own levels
    ordered: bool = False
    # text that is times in every chunk so far: their format and statistics in days
    # (None once a chunk holds other text: the column is categorical, as in memory)
    time: str | None = ""
    days: _Numbers | None = None
    gaps: bool = False  # whether chunks whose days wait (see note_times) had missing cells

    def add(self, s: pd.Series) -> None:
        for level, k in s.value_counts(dropna=True, sort=False).items():
            self.counts[level] = self.counts.get(level, 0) + int(k)

    def note_times(self, time: str, s: pd.Series) -> None:
        """Keep the days of a chunk of times of format ``time`` ("": not times).
        While every chunk so far leaves the order of day and month open
        (:func:`~aekit.data.times.undecided`), their days wait: the chunk that
        decides it reads them from the levels counted so far."""
        if self.time is None:
            return
        joint = joint_format(self.time, time) if self.time else time
        if not joint:
            self.time, self.days = None, None
            return
        waiting, self.time = undecided(self.time), joint
        if undecided(joint):
            self.gaps |= bool(s.isna().any())
            return
        self.days = self.days or _Numbers(self.dtype)
        self.days.time = joint  # chunks at different UTC offsets: written in UTC
        if waiting:  # the chunks before, in one order now
            days = to_days(pd.Series(list(self.counts), dtype=object), joint)
            self.days.add(np.repeat(days, list(self.counts.values())))
            self.days.missing |= self.gaps
        self.days.add(to_days(s, joint if undecided(time) else time))


def _add(stats: dict, name, s: pd.Series, path, first_row: int) -> None:
    observed = s.dropna()
    if not len(observed):
        return
    col = infer_column(name, s, None, whole=False)  # stray text: once, for the whole column
    text_times = col.time not in ("", DATETIME, DURATION, PERIOD)  # text: a chunk of times
    numeric = col.kind in ("continuous", "binary") and col.dtype not in ("bool", "boolean")
    numeric &= not text_times
    kind = ("time " + col.time if col.time else "number") if numeric else col.kind
    kind = "categorical" if text_times else kind
    entry = stats.get(name)
    if entry is None:
        entry = stats[name] = (kind, _Numbers(col.dtype) if numeric else _Levels(col.dtype))
    elif entry[0] != kind:
        raise AekitError(
            f"column {name!r} of {path} holds {_what(kind)} from row {first_row} on, "
            f"{_what(entry[0])} before; make it one type throughout"
        )
    acc = entry[1]
    if acc.dtype != col.dtype:  # what the whole column would read as
        acc.dtype = {"number": "float64", "binary": "boolean"}.get(kind, "object")
    if kind == "categorical":  # a pandas category is never times
        acc.note_times("" if isinstance(s.dtype, pd.CategoricalDtype) else col.time, s)
    if col.time in (DATETIME, DURATION, PERIOD):
        acc.time = col.time
        acc.add(to_days(s, col.time))
    elif numeric:
        acc.add(pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan))
    elif kind == "categorical":
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels = tuple(s.dtype.categories.tolist())
            acc.categories = levels if acc.categories is None else _union(acc.categories, levels)
            acc.ordered = bool(s.dtype.ordered)
            acc.dtype = "category"
        acc.add(observed)
    else:  # booleans
        acc.add(observed.astype(bool))


def _what(kind: str) -> str:
    if kind.startswith("time "):
        return f"times of format {kind[5:]}"
    return {"number": "numbers", "categorical": "text", "binary": "booleans"}[kind]


def _union(a: tuple, b: tuple) -> tuple:
    return a + tuple(v for v in b if v not in set(a))


def _encoder(stats: dict, names: list, path) -> TabularEncoder:
    """The encoder the statistics describe, with each encoded dimension's extremes
    (what the encoded table's column minima and maxima would be)."""
    schema, center, scale, fill, low, high = [], [], [], [], [], []
    for name in names:
        kind, acc = stats[name]
        if kind == "categorical" and acc.time and not undecided(acc.time):  # times throughout
            kind, acc = "time " + acc.time, dataclasses.replace(acc.days, dtype=acc.dtype)
        numbers = kind == "number" or kind.startswith("time ")
        if numbers and not (kind == "number" and acc.only01 and acc.zeros and acc.ones):
            floats = pd.api.types.is_float_dtype(pd.api.types.pandas_dtype(acc.dtype))
            whole = acc.whole and (acc.time not in ("", PERIOD) or floats)  # times: midnights
            schema.append(Column(name, "continuous", acc.dtype, whole=whole, time=acc.time))
            std = float(np.sqrt(acc.m2 / acc.count)) * acc.unit
            # one value: the centre is that value itself, which a mean may miss slightly
            center.append(acc.low if acc.low == acc.high else acc.mean * acc.unit)
            scale.append(std if std > 0 else 1.0)
            fill.append([0.0])
            lo, hi = ((v - center[-1]) / scale[-1] for v in (acc.low, acc.high))
            low.append([min(lo, 0.0) if acc.missing else lo])
            high.append([max(hi, 0.0) if acc.missing else hi])
            continue
        if kind == "number":  # observed values 0 and 1 only
            column, counts = Column(name, "binary", acc.dtype, (0, 1)), [acc.zeros, acc.ones]
        elif kind == "binary":
            column = Column(name, "binary", acc.dtype, (False, True))
            counts = [acc.counts.get(False, 0), acc.counts.get(True, 0)]
        else:
            column = _categorical(name, acc, path)
            counts = [acc.counts.get(v, 0) for v in column.categories]
        counts = np.asarray(counts, dtype=np.float64)
        bounds = level_bounds(counts)
        first = 1 if column.kind == "binary" else 0  # a binary column is its second level
        schema.append(column)
        fill.append(counts[first:] / counts.sum())
        low.append(bounds[0][first:])
        high.append(bounds[1][first:])
    fill, low, high = (np.concatenate(v).astype(np.float64) for v in (fill, low, high))
    return TabularEncoder(schema, np.asarray(center), np.asarray(scale), fill, low, high)


def _categorical(name, acc: _Levels, path) -> Column:
    """The column of a text (or pandas category) column's merged levels."""
    if acc.categories is not None:
        levels = acc.categories
    else:
        hint = (
            "make those cells empty, or pass the file's decimal mark (TableFile(..., "
            "dialect=Dialect(sep, ',')); on the command line: aekit --decimal ',' COMMAND "
            "...), or write the column as a category in a Parquet file to model it as "
            "categories"
        )
        refuse_stray_text(f"column {name!r} of {path}", pd.Series(acc.counts), hint, levels=False)
        levels = list(acc.counts)
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    return Column(name, "categorical", acc.dtype, tuple(levels), acc.ordered)
