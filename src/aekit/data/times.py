"""Dates and times as numbers: a column of times is modelled as a continuous
column of days since 1970-01-01 and written back as it came, as text in its
own ISO 8601 format or as datetime64.

A text column is a column of times when every observed value is an ISO 8601
month (``2024-03``), date (``2024-03-01``) or date and time (``2024-03-01 14:30``,
``2024-03-01T14:30:05``), all in the same one of these formats, and each a real
day of the calendar between the years 1680 and 2260 (what a nanosecond
timestamp holds; other dates stay text); imputed and sampled times are
rounded to the format's unit (months, to the nearest first of a month; days,
minutes or seconds, or the digits of a
fraction of a second, ``14:30:05.250``, the longest observed; days where every
observed time is a midnight, ``2024-03-01 00:00:00``). Date-times may end
with a UTC offset (``+01:00``, ``-0530`` or ``Z``, as pandas, databases and
JSON exports write times with a zone): they are modelled in UTC, and imputed
ones are written at the column's offset when every observed value has the
same one, else in UTC (``+00:00``), each naming its instant exactly. A
datetime64 column is a column of times too (rounded to seconds, or to days
when every observed time is a midnight); one with a time zone is modelled in
UTC and written back in its zone. A timedelta64 column (durations: a stay, a
delay) is a continuous column of days, written back as durations of its dtype
(rounded to seconds, or to days when every observed one is a whole day); so
is a text column of durations as pandas writes them to a CSV file (``3 days``,
``-1 days +20:00:00``, ``0 days 00:00:01.500000``), written back in that form
(whole days, or to the second or the digits of its fractions). A period column
(months, quarters, years: pandas' ``period`` dtype) is a column of times at
each period's start, written back as periods of its dtype, each imputed one
the period whose start is nearest; so is text of quarters as pandas writes such
a column to a CSV file (``2024Q1``), written back as quarters.

Dates as spreadsheets and local settings write them are times too, written back
as they came: day and month with a four-digit year (``3/25/2021``,
``25.03.2021``, ``25-03-2021``) or slashed ISO (``2021/3/25``), each perhaps
followed by a time of day (``14:30``, ``14:30:05``, ``2:30 PM``), all in one
such format.
Which of day and month comes first, the column says: a first number above 12
somewhere makes it the day, a second number above 12 the month. Where no
number says it (every day of the column at most the 12th), or both do, the
column stays text (:func:`aekit.data.cells.refuse_stray_text` names it). Day
and month, and the hour, are written without a leading zero when some observed
one has a single digit.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import AekitError

EPOCH = pd.Timestamp("1970-01-01")
DAY = pd.Timedelta(days=1)
DATETIME = "datetime64"  # the time format of a datetime64 column; text columns hold theirs
DURATION = "timedelta64"  # the "time format" of a column of durations, in days (not since 1970)
PERIOD = "period"  # the "time format" of a period column: the days of each period's start
LIMIT = 106_000  # days either side of 1970 that a nanosecond timestamp holds (years 1680-2260)
# the text formats recognised, each with the pattern its values match
FORMATS = [
    ("%Y-%m", r"\d{4}-\d{2}"),  # a month, as its first day
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
    ("%Y-%m-%d %H:%M", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"),
    ("%Y-%m-%dT%H:%M", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    ("%Y-%m-%dT%H:%M:%S", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"),
]
# text durations, as pandas writes them: whole days, or days and a time of day
DAYS, DAYS_TIME = "%d days", "%d days %H:%M:%S"
_DAYS, _TIME = r"-?\d+ days?", r" \+?\d{2}:\d{2}:\d{2}"
QUARTERS, _QUARTER = "%YQ%q", r"\d{4}Q[1-4]"  # text quarters, as pandas writes them
PERIOD_TEXT = {"%Y-%m": "M", QUARTERS: "Q"}  # text formats of periods: imputed to the nearest
# day and month in either order with a four-digit year ("3/25/2021", "25.03.2021",
# "25-03-2021"), or slashed ISO ("2021/3/25"); a time of day may follow, on a 24-hour
# clock or a 12-hour one ("14:30", "2:30:05 PM", as US spreadsheets and open-data
# portals write them)
_LOCAL_DATE = re.compile(
    r"(?:(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)\d{4}|\d{4}/(?P<m>\d{1,2})/(?P<d>\d{1,2}))"
    r"(?: (?P<h>\d{1,2})(?P<clock>:\d{2}(?::\d{2})?)(?P<half> [AP]M)?)?"
)
_LOCAL_FORMAT = re.compile(r"%-?[md][/.-]|%Y/")  # the formats of such dates
OFFSET = r"Z|[+-]\d{2}:?\d{2}"  # a UTC offset at the end of a date-time
FRACTION = r"\.\d{1,9}"  # a fraction of a second, up to nanoseconds
# a text format: one of FORMATS, ".%<digits>f" after the seconds, a UTC offset written out
_PARTS = re.compile(rf"(?P<base>.*?)(?:\.%(?P<digits>\d)f)?(?P<offset>{OFFSET})?")


def text_format(observed: pd.Series, whole: bool = True) -> str:
    """The format of a text column whose observed values are all ISO dates or
    date-times of one format (see :data:`FORMATS`; date-times with or all without
    a UTC offset, seconds with or without fractions), or all dates of one of the
    other formats of the module's docstring, else "". ``whole=False``: one chunk
    of a column, whose dates may leave the order of day and month to the other
    chunks (their format is then both orders, ``"%m/%d/%Y|%d/%m/%Y"``:
    :func:`undecided`)."""
    head = observed.head(20).tolist()
    if not len(head) or not all(isinstance(v, str) for v in head):
        return ""
    text = observed.astype(str)
    for fmt, pattern in FORMATS:  # the first values first: most text is not times
        if "%H" in fmt:  # date-times: a fraction of a second, an offset
            pattern += f"(?:{FRACTION})?" * fmt.endswith("%S") + f"(?:{OFFSET})?"
        if not (_heads(pattern, head) and text.str.fullmatch(pattern).all()):
            continue
        offsets = text.str.extract(rf"({OFFSET})$", expand=False)
        if "%H" not in fmt or offsets.isna().all():
            offset = ""
        elif offsets.notna().all():  # the one offset, else UTC's
            offset = offsets.iloc[0] if offsets.nunique() == 1 else _utc(offsets.iloc[0])
        else:
            return ""  # some times with an offset, some without: not one column of times
        digits = text.str.extract(rf"({FRACTION})", expand=False).str.len().max() - 1
        time = _format(fmt, 0 if np.isnan(digits) else int(digits), offset)
        parsed = _parse(text, time)
        return time if parsed.notna().all() and _in_range(parsed) else ""
    for fmt, pattern in ((DAYS, _DAYS), (DAYS_TIME, _DAYS + _TIME + f"(?:{FRACTION})?")):
        if _heads(pattern, head) and text.str.fullmatch(pattern).all():
            digits = text.str.extract(rf"({FRACTION})$", expand=False).str.len().max() - 1
            time = _format(fmt, 0 if np.isnan(digits) else int(digits), "")
            days = _parse(text, time) / DAY
            return time if days.notna().all() and days.abs().max() <= LIMIT else ""
    if _heads(_QUARTER, head) and text.str.fullmatch(_QUARTER).all():
        return QUARTERS if _in_range(_parse(text, QUARTERS)) else ""
    if all(_LOCAL_DATE.fullmatch(v) for v in head):
        return _local_format(text, whole)
    return ""


def _local_format(text: pd.Series, whole: bool) -> str:
    """The format of text whose first values are dates of :data:`_LOCAL_DATE`:
    one of its formats, where every value is such a date of it; the order of day
    and month from the numbers above 12; "" where the text does not say it (for
    a chunk, ``whole=False``, both orders) or is no dates of one format."""
    parts = text.str.extract(f"^(?:{_LOCAL_DATE.pattern})$")
    clocks, halves = parts["clock"].str.len().fillna(0), parts["half"].isna()
    if (parts["a"].isna() & parts["m"].isna()).any() or clocks.nunique() != 1:
        return ""  # not every value such a date; or a time of day in some, or of two lengths
    if halves.nunique() != 1:
        return ""  # a 12-hour clock in some values only
    clock, twelve = "", not bool(halves.iloc[0])
    if clocks.iloc[0]:  # the hour with or without a leading zero, as the column has it
        hour = ("%-" if (parts["h"].str.len() == 1).any() else "%") + "HI"[twelve]
        clock = f" {hour}:%M" + ":%S" * bool(clocks.iloc[0] == 6) + " %p" * twelve
    if parts["sep"].isna().all():  # slashed ISO: year, month, day
        first, second, order = parts["m"], parts["d"], ["%Y/{m}/{d}"]
    elif parts["sep"].nunique(dropna=False) == 1:
        first, second, sep = parts["a"], parts["b"], parts["sep"].iloc[0]
        day_first, month_first = (first.astype(int) > 12).any(), (second.astype(int) > 12).any()
        if day_first and month_first:
            return ""
        order = [f"{{d}}{sep}{{m}}{sep}%Y"] if day_first else [f"{{m}}{sep}{{d}}{sep}%Y"]
        if not (day_first or month_first):
            if whole:
                return ""  # which comes first, the column does not say
            order.append(f"{{d}}{sep}{{m}}{sep}%Y")
    else:
        return ""
    pad = "-" if (first.str.len() == 1).any() or (second.str.len() == 1).any() else ""
    found = [f.format(m=f"%{pad}m", d=f"%{pad}d") + clock for f in order]
    if not all(_parse(text, fmt).notna().all() for fmt in found):
        return ""  # a day the calendar does not have ("2/30/2021")
    return "|".join(found) if _in_range(_parse(text, found[0])) else ""


def undecided(time: str) -> bool:
    """Whether a chunk's format ``time`` leaves the order of day and month open."""
    return "|" in time


def _joint_local(a: str, b: str) -> str:
    """:func:`joint_format` of dates of :data:`_LOCAL_FORMAT`: the orders both
    allow, without leading zeros where either part has none."""
    common = [f for f in a.replace("%-", "%").split("|") if f in b.replace("%-", "%").split("|")]
    joint = "|".join(common)
    for part in "mdHI":  # day, month, hour: without a leading zero where either has none
        if f"%-{part}" in a + b:
            joint = joint.replace(f"%{part}", f"%-{part}")
    return joint


def _heads(pattern: str, head: list) -> bool:
    """Whether every text of ``head`` (the first values) matches ``pattern`` whole:
    a cheap first look (Python's ``re``, whose patterns are cached) before the
    whole column is matched, which decides."""
    return all(re.fullmatch(pattern, v) for v in head)


def is_duration(time: str) -> bool:
    """Whether a column of format ``time`` holds durations (timedelta64, or text)."""
    return time == DURATION or time.startswith(DAYS)


def _format(base: str, digits: int, offset: str) -> str:
    """A text format from its parts (see :data:`_PARTS`)."""
    return base + f".%{digits}f" * bool(digits) + offset


def _parts(time: str) -> tuple[str, int, str]:
    """(one of :data:`FORMATS`, digits of the seconds' fraction, UTC offset or "")."""
    found = _PARTS.fullmatch(time)
    return found["base"], int(found["digits"] or 0), found["offset"] or ""


def _parse(s: pd.Series, time: str) -> pd.Series:
    """Times of text ``s`` of format ``time`` (UTC's where it has offsets), NaT
    where a value is not one."""
    if is_duration(time):
        return pd.to_timedelta(s, errors="coerce")
    if time == DATETIME:
        return pd.to_datetime(s, errors="coerce")
    if time == QUARTERS:  # each quarter's first day
        quarter = s.notna() & s.astype(str).str.fullmatch(_QUARTER)
        stamps = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        stamps[quarter] = pd.PeriodIndex(s[quarter].astype(str), freq="Q").start_time
        return stamps
    base, digits, offset = _parts(time)
    base = base.replace("%-", "%")  # pandas reads a day or month without its leading zero
    fmt = "ISO8601" if digits else base + "%z" * bool(offset)  # fractions: any digits
    return pd.to_datetime(s, format=fmt, utc=bool(offset), errors="coerce")


def _utc(offset: str) -> str:
    """UTC's offset written as ``offset`` is (``Z``, ``+00:00`` or ``+0000``)."""
    return "Z" if offset == "Z" else "+00:00" if ":" in offset else "+0000"


def joint_format(a: str, b: str) -> str:
    """The format of a column whose parts (chunks of a file) have formats ``a`` and
    ``b``: their own when equal; the longer fraction of a second, and UTC's
    offset where their offsets differ, when only those differ; else "" (not one
    column of times)."""
    if a == b:
        return a
    if _LOCAL_FORMAT.match(a) and _LOCAL_FORMAT.match(b):
        return _joint_local(a, b)
    if {a, b} == {DAYS, DAYS_TIME}:  # whole days in one part, times in the other
        return DAYS_TIME
    (base_a, digits_a, offset_a), (base_b, digits_b, offset_b) = _parts(a), _parts(b)
    if base_a != base_b or bool(offset_a) != bool(offset_b):
        return ""
    offset = offset_a if offset_a == offset_b else _utc(offset_a)
    return _format(base_a, max(digits_a, digits_b), offset)


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
    if time == PERIOD:
        return _period_days(s)
    duration, numeric = is_duration(time), pd.api.types.is_numeric_dtype(s.dtype)
    if (time == DATETIME or duration) and numeric and s.notna().any():
        # read as times, numbers would be nanoseconds: a column of numbers is not the one fit saw
        kind = "durations" if duration else "times"
        raise AekitError(
            f"column {s.name!r} holds numbers ({s.dtype}) where fit saw {kind} ({time}): "
            "give it its dtype of fit"
        )
    stamps = _parse(s, time)
    if (stamps.isna() & s.notna()).any():
        bad = s[stamps.isna() & s.notna()].iloc[0]
        what = "a duration" if duration else f"a time of format {time}"
        raise AekitError(f"column {s.name!r} holds {bad!r}, which is not {what}")
    since = stamps if duration else _naive(stamps) - EPOCH
    return (since / DAY).to_numpy(dtype=np.float64, na_value=np.nan)


def from_days(days: np.ndarray, time: str, dtype, whole: bool) -> pd.Series:
    """Times from days since 1970-01-01, rounded to the format's unit (to days
    where ``whole``: every observed time a midnight): text in the format
    ``time`` (at its offset, for days counted in UTC), or datetime64 of
    ``dtype``; for :data:`DURATION`, durations of ``dtype`` of that many days."""
    days = np.clip(np.asarray(days, dtype=np.float64), -LIMIT, LIMIT)
    if time == DURATION:
        return pd.Series(pd.to_timedelta(days, unit="D").round("D" if whole else "s")).astype(dtype)
    if is_duration(time):
        return _duration_text(days, time).astype(dtype)
    if time == PERIOD:
        return _nearest_periods(days, dtype)
    if time in PERIOD_TEXT:  # months and quarters written as text
        periods = _nearest_periods(days, pd.PeriodDtype(PERIOD_TEXT[time]))
        return periods.dt.strftime(time).astype(object).astype(dtype)
    if time == DATETIME:
        unit, (base, digits, offset) = "D" if whole else "s", (time, 0, "")
    else:
        base, digits, offset = _parts(time)
        unit = "s" if "%S" in base else "min" if "%M" in base else "D"
        unit = "D" if whole else f"{10 ** (9 - digits)}ns" if digits else unit
    days = days + _minutes(offset) / 1440  # local times at the offset
    stamps = EPOCH + pd.to_timedelta(days, unit="D")
    stamps = stamps.round(unit)
    if time == DATETIME:
        zone = getattr(dtype, "tz", None)
        if zone is not None:  # the days are UTC's
            return pd.Series(stamps).dt.tz_localize("UTC").dt.tz_convert(zone).astype(dtype)
        return pd.Series(stamps).astype(dtype)
    text = _strftime(stamps, base)
    if digits:  # nanoseconds past the second, as many digits as the column's
        fraction = pd.Series((stamps - stamps.floor("s")).asi8).astype(str).str.zfill(9)
        text = text + "." + fraction.str[:digits]
    return (text + offset).astype(dtype)


def _strftime(stamps: pd.DatetimeIndex, base: str) -> pd.Series:
    """``stamps.strftime(base)`` as text, with month, day and hour without a
    leading zero (``%-m``, ``%-d``, ``%-H``, ``%-I``), which strftime does not
    write everywhere, and ``%I``/``%p``'s 12-hour clock in English whatever
    the locale."""
    if "%-" not in base and "%p" not in base:
        return pd.Series(stamps.strftime(base), dtype=object)
    text = np.full(len(stamps), "", dtype=object)
    hours = np.asarray(stamps.hour)
    by_hand = {
        "%-m": stamps.month,
        "%-d": stamps.day,
        "%-H": hours,
        "%-I": (hours + 11) % 12 + 1,
        "%p": np.where(hours < 12, "AM", "PM"),
    }
    for token in re.findall(r"%-?.|[^%]+", base):
        if token in by_hand:
            part = np.asarray(by_hand[token]).astype(str)
        else:
            part = stamps.strftime(token) if token.startswith("%") else token
        text = text + np.asarray(part, dtype=object)
    text[np.asarray(stamps.isna())] = np.nan
    return pd.Series(text, dtype=object)


def _duration_text(days: np.ndarray, time: str) -> pd.Series:
    """Durations of ``days`` as text of the format ``time`` (:data:`DAYS` or
    :data:`DAYS_TIME`, with its fraction's digits), rounded to its unit; a
    negative one as pandas writes it, ``-1 days +20:00:00`` for -4 hours."""
    base, digits, _ = _parts(time)
    unit = "D" if base == DAYS else f"{10 ** (9 - digits)}ns" if digits else "s"
    spans = pd.to_timedelta(days, unit="D").round(unit)
    parts = spans.components  # days (floored), then the rest, each non-negative
    text = parts["days"].astype(str) + " days"
    if base == DAYS_TIME:
        sign = np.where(parts["days"] < 0, " +", " ")
        clock = [parts[k].astype(str).str.zfill(2) for k in ("hours", "minutes", "seconds")]
        text = text + sign + clock[0] + ":" + clock[1] + ":" + clock[2]
        if digits:  # nanoseconds past the second, as many digits as the column's
            ns = ((spans - spans.floor("s")).asi8).astype(str)
            text = text + "." + pd.Series(ns).str.zfill(9).str[:digits].to_numpy()
    return pd.Series(text.to_numpy(), dtype=object)


def _period_days(s: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of the start of each period of ``s``, NaN where missing."""
    if not isinstance(s.dtype, pd.PeriodDtype):
        if s.notna().any():  # numbers or text where fit saw periods: not the column fit saw
            raise AekitError(
                f"column {s.name!r} holds {s.dtype} values where fit saw periods: "
                "give it its dtype of fit"
            )
        return np.full(len(s), np.nan)
    since = s.dt.start_time - EPOCH
    return (since / DAY).to_numpy(dtype=np.float64, na_value=np.nan)


def _nearest_periods(days: np.ndarray, dtype: pd.PeriodDtype) -> pd.Series:
    """The periods of ``dtype`` whose starts lie nearest ``days`` since 1970-01-01
    (halfway between two, the later)."""
    stamps = pd.DatetimeIndex(EPOCH + pd.to_timedelta(days, unit="D"))
    first = stamps.to_period(dtype.freq)  # the period holding each time
    later = (first + 1).start_time - stamps <= stamps - first.start_time
    return pd.Series(pd.arrays.PeriodArray(first.asi8 + later, dtype=dtype))
