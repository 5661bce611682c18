"""Dates and times as numbers: a column of times is modelled as a continuous
column of days since 1970-01-01 and written back as it came, as text in its
own ISO 8601 format or as datetime64.

A text column is a column of times when every observed value is an ISO 8601
date (``2024-03-01``) or date and time (``2024-03-01 14:30``,
``2024-03-01T14:30:05``), all in the same one of these formats, and each a real
day of the calendar between the years 1680 and 2260 (what a nanosecond
timestamp holds; other dates stay text); imputed and sampled times are
rounded to the format's unit (days, minutes or seconds). Date-times may end
with a UTC offset (``+01:00``, ``-0530`` or ``Z``, as pandas, databases and
JSON exports write times with a zone): they are modelled in UTC, and imputed
ones are written at the column's offset when every observed value has the
same one, else in UTC (``+00:00``), each naming its instant exactly. A
datetime64 column is a column of times too (rounded to seconds, or to days
when every observed time is a midnight); one with a time zone is modelled in
UTC and written back in its zone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import AekitError

EPOCH = pd.Timestamp("1970-01-01")
DAY = pd.Timedelta(days=1)
DATETIME = "datetime64"  # the time format of a datetime64 column; text columns hold theirs
LIMIT = 106_000  # days either side of 1970 that a nanosecond timestamp holds (years 1680-2260)
# the text formats recognised, each with the pattern its values match
FORMATS = [
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    ("%Y-%m-%d %H:%M", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"),
    ("%Y-%m-%dT%H:%M", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    ("%Y-%m-%dT%H:%M:%S", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"),
]
OFFSET = r"Z|[+-]\d{2}:?\d{2}"  # a UTC offset at the end of a date-time
_ENDS_IN_OFFSET = re.compile(rf"(?:{OFFSET})$")


def text_format(observed: pd.Series) -> str:
    """The format of a text column whose observed values are all ISO dates or
    date-times of one format (see :data:`FORMATS`), else ""."""
    head = observed.head(20)
    if not len(head) or not all(isinstance(v, str) for v in head):
        return ""
    text = observed.astype(str)
    for fmt, pattern in FORMATS:  # the first values first: most text is not times
        if head.str.fullmatch(pattern).all() and text.str.fullmatch(pattern).all():
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
            return fmt if parsed.notna().all() and _in_range(parsed) else ""
    for fmt, pattern in FORMATS[1:]:  # date-times with a UTC offset
        offset = rf"{pattern}({OFFSET})"
        if head.str.fullmatch(offset).all() and text.str.fullmatch(offset).all():
            parsed = pd.to_datetime(text, format=fmt + "%z", utc=True, errors="coerce")
            if not (parsed.notna().all() and _in_range(parsed)):
                return ""
            offsets = text.str.extract(rf"({OFFSET})$", expand=False).unique()
            return fmt + (offsets[0] if len(offsets) == 1 else _utc(offsets[0]))
    return ""


def _utc(offset: str) -> str:
    """UTC's offset written as ``offset`` is (``Z``, ``+00:00`` or ``+0000``)."""
    return "Z" if offset == "Z" else "+00:00" if ":" in offset else "+0000"


def _split(time: str) -> tuple[str, str]:
    """(format without its offset, the offset written at its end, or "")."""
    found = _ENDS_IN_OFFSET.search(time)
    return (time[: found.start()], found.group()) if found else (time, "")


def joint_format(a: str, b: str) -> str:
    """The format of a column whose parts (chunks of a file) have formats ``a`` and
    ``b``: their own when equal, UTC's offset when they differ only in their
    offsets, else "" (not one column of times)."""
    if a == b:
        return a
    (base_a, offset_a), (base_b, offset_b) = _split(a), _split(b)
    return base_a + _utc(offset_a) if base_a == base_b and offset_a and offset_b else ""


def _minutes(offset: str) -> int:
    """Minutes east of UTC of an offset as written (``Z``, ``-05:30``, ``+0100``)."""
    if offset in ("", "Z"):
        return 0
    digits = offset[1:].replace(":", "")
    return (1 if offset[0] == "+" else -1) * (60 * int(digits[:2]) + int(digits[2:]))


def _in_range(stamps: pd.Series) -> bool:
    """Whether every time lies within :data:`LIMIT` days of 1970."""
    days = (_naive(stamps) - EPOCH) / DAY
    return bool(days.min() >= -LIMIT and days.max() <= LIMIT)


def _naive(stamps: pd.Series) -> pd.Series:
    """Times with a time zone as naive times in UTC; others as they are."""
    if getattr(stamps.dtype, "tz", None) is None:
        return stamps
    return stamps.dt.tz_convert(None)


def check_datetime(label: str, s: pd.Series) -> None:
    """Refuse a datetime64 column aekit cannot turn into days."""
    if not _in_range(s.dropna()):
        raise AekitError(
            f"{label} holds times before 1680 or after 2260, which aekit cannot model as "
            "times; convert them to numbers (e.g. years) first"
        )


def to_days(s: pd.Series, time: str) -> np.ndarray:
    """Days since 1970-01-01 of a column of times (``time``: its format, or
    :data:`DATETIME`), float64, NaN where missing."""
    base, offset = _split(time)
    stamps = pd.to_datetime(
        s,
        format=None if time == DATETIME else base + "%z" * bool(offset),
        utc=bool(offset),
        errors="coerce",
    )
    if (stamps.isna() & s.notna()).any():
        bad = s[stamps.isna() & s.notna()].iloc[0]
        raise AekitError(f"column {s.name!r} holds {bad!r}, which is not a time of format {time}")
    return ((_naive(stamps) - EPOCH) / DAY).to_numpy(dtype=np.float64, na_value=np.nan)


def from_days(days: np.ndarray, time: str, dtype, whole: bool) -> pd.Series:
    """Times from days since 1970-01-01, rounded to the format's unit: text in
    the format ``time`` (at its offset, for days counted in UTC), or datetime64
    of ``dtype``."""
    if time == DATETIME:
        unit = "D" if whole else "s"
    else:
        unit = "s" if "%S" in time else "min" if "%M" in time else "D"
    days = np.clip(np.asarray(days, dtype=np.float64), -LIMIT, LIMIT)
    days = days + _minutes(_split(time)[1]) / 1440  # local times at the offset
    stamps = (EPOCH + pd.to_timedelta(days, unit="D")).round(unit)
    if time == DATETIME:
        zone = getattr(dtype, "tz", None)
        if zone is not None:  # the days are UTC's
            return pd.Series(stamps).dt.tz_localize("UTC").dt.tz_convert(zone).astype(dtype)
        return pd.Series(stamps).astype(dtype)
    return pd.Series(stamps.strftime(time), dtype=object).astype(dtype)
