"""Dates and times as numbers: a column of times is modelled as a continuous
column of days since 1970-01-01 and written back as it came, as text in its
own ISO 8601 format or as datetime64.

A text column is a column of times when every observed value is an ISO 8601
date (``2024-03-01``) or date and time (``2024-03-01 14:30``,
``2024-03-01T14:30:05``), all in the same one of these formats, and each a real
day of the calendar between the years 1680 and 2260 (what a nanosecond
timestamp holds; other dates stay text); imputed and sampled times are
rounded to the format's unit (days, minutes or seconds). A datetime64 column
is a column of times too (rounded to seconds, or to days when every observed
time is a midnight); one with a time zone is modelled in UTC and written back
in its zone.
"""

from __future__ import annotations

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
    return ""


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
    stamps = pd.to_datetime(s, format=None if time == DATETIME else time, errors="coerce")
    if (stamps.isna() & s.notna()).any():
        bad = s[stamps.isna() & s.notna()].iloc[0]
        raise AekitError(f"column {s.name!r} holds {bad!r}, which is not a time of format {time}")
    return ((_naive(stamps) - EPOCH) / DAY).to_numpy(dtype=np.float64, na_value=np.nan)


def from_days(days: np.ndarray, time: str, dtype, whole: bool) -> pd.Series:
    """Times from days since 1970-01-01, rounded to the format's unit: text in
    the format ``time``, or datetime64 of ``dtype``."""
    if time == DATETIME:
        unit = "D" if whole else "s"
    else:
        unit = "s" if "%S" in time else "min" if "%M" in time else "D"
    days = np.clip(np.asarray(days, dtype=np.float64), -LIMIT, LIMIT)
    stamps = (EPOCH + pd.to_timedelta(days, unit="D")).round(unit)
    if time == DATETIME:
        zone = getattr(dtype, "tz", None)
        if zone is not None:  # the days are UTC's
            return pd.Series(stamps).dt.tz_localize("UTC").dt.tz_convert(zone).astype(dtype)
        return pd.Series(stamps).astype(dtype)
    return pd.Series(stamps.strftime(time), dtype=object).astype(dtype)
