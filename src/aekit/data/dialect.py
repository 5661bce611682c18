"""How a CSV file is written: its separator, decimal mark and missing cells'
texts, told from its first lines; and one clear error for what pandas and
pyarrow raise on a bad table file."""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..errors import AekitError
from .cells import MISSING_MARKERS


@dataclass(frozen=True)
class Dialect:
    """How a CSV file writes its fields: the separator and the decimal mark (None:
    told by the file, see :func:`inspect_csv`), and the texts of a missing cell
    besides an empty one (None: pandas' markers, "NA", "N/A", "NaN", "null",
    "None", ...; ``("",)``: empty cells only, so that a text "NA" stays text;
    ``("-9",)``: empty cells and -9), and the text
    encoding (None: UTF-8, a byte-order mark allowed; e.g. "cp1252" for a file
    saved by Excel on Windows). A CSV file is written in the dialect it was read in.
    In a file of one column (``one_column``, told by :func:`inspect_csv`) an
    empty line is a row whose cell is missing, as spreadsheets write one, not a
    line to skip."""

    sep: str | None = ","
    decimal: str | None = "."
    na: tuple[str, ...] | None = None
    encoding: str | None = None
    one_column: bool = False

    def read_args(self) -> dict:
        """``pd.read_csv``'s arguments for this dialect."""
        args = {"sep": self.sep, "decimal": self.decimal, "encoding": self.text_encoding}
        if self.na is not None:
            # an empty cell is missing whatever else is: a marker given adds to it
            args.update(keep_default_na=False, na_values=list(dict.fromkeys(("", *self.na))))
        if self.one_column:
            args["skip_blank_lines"] = False
        return args

    @property
    def text_encoding(self) -> str:
        """The encoding to read and write the file's text in."""
        return self.encoding or "utf-8"


PLAIN = Dialect()  # separated by commas, decimal points
SEPARATORS = (",", ";", "\t", "|")
SAMPLE_LINES = 1000  # lines read to tell a CSV file's dialect
FIELD_LIMIT = 2**31 - 1  # the longest field the csv module splits here (a C long on every platform)
# a number with a decimal comma for sure: "1,5", "12,57", "0,125"; not "1,234", which
# may as well be a thousand two hundred and thirty-four
_DECIMAL_COMMA = re.compile(r"^[-+]?(\d+,\d{1,2}|\d+,\d{4,}|0,\d+)$")
_DECIMAL_POINT = re.compile(r"^[-+]?\d*\.\d+$")
_EXCEL_SEP = re.compile(r"sep=.")  # a first line Excel writes to name the separator
_WHOLE = re.compile(r"^[-+]?\d+$")


def _points(column: list[str]) -> bool:
    """Whether a column's cells are numbers, some written with a decimal point
    (text such as ``m.2`` beside ``2.5``, a code, is no evidence of the mark)."""
    numbers = [c for c in column if not MISSING_MARKERS.match(c)]
    return any(_DECIMAL_POINT.match(c) for c in numbers) and all(
        _DECIMAL_POINT.match(c) or _WHOLE.match(c) for c in numbers
    )


def inspect_csv(
    path, dialect: Dialect | None = None, *, encoding: str | None = None
) -> tuple[Dialect, list[str]]:
    """A CSV file's dialect and header, from its first lines (``dialect``: the
    user's, which is then only used to read the header).

    The separator is the first of :data:`SEPARATORS` (a comma first) that splits
    every line into the same number of fields, more than one; with another
    separator than the comma, numbers written for sure with a decimal comma
    (``1,5``) and no column of numbers with a point make the decimal mark a
    comma (a European CSV file; ``2.5`` in a column of codes beside ``m.2``
    does not count). One column: commas and points. A header that splits at another
    separator while the lines do not split evenly is refused (it would be read
    as one column): the message says how to pass the dialect. The text is read in
    ``dialect``'s encoding, else ``encoding``, else UTF-8.
    """
    path = Path(path)
    encoding = encoding if dialect is None else dialect.encoding
    if dialect is not None and dialect.sep is None:  # the separator to be told
        told, header = inspect_csv(path, encoding=encoding)
        decimal = dialect.decimal or told.decimal
        if decimal == told.sep:
            if not told.one_column:
                raise AekitError(
                    f"input {path}: its fields are separated by {told.sep!r}, the decimal "
                    "mark given; a file of decimal commas separates its fields by another "
                    "mark (';' in most of Europe): check the file, or leave --decimal out"
                )
            # one column: no field is separated; any other mark will do
            sep = next(m for m in SEPARATORS if m != decimal and m not in "".join(header))
            told = replace(told, sep=sep)
        return replace(told, decimal=decimal, na=dialect.na), header
    encoding = _encoding_of(path, encoding)
    with reading(path), open(path, newline="", encoding=encoding or "utf-8-sig") as f:
        lines = list(itertools.islice(f, SAMPLE_LINES + 1))
    if any("\0" in line for line in lines):
        raise AekitError(
            f"input {path}: its text holds NUL characters, as UTF-16 text read as "
            f"{(encoding or 'utf-8').upper()} does; give the file's encoding (on the command "
            "line: aekit --encoding utf-16 COMMAND ..., for Excel's 'Unicode Text')"
        )
    if lines and _EXCEL_SEP.fullmatch(lines[0].strip()):
        raise AekitError(
            f"input {path}: its first line {lines[0].strip()!r} is Excel's hint of the "
            "separator, not a header: delete that line (aekit tells the separator from "
            "the lines, or takes it from --sep)"
        )
    cut = len(lines) > SAMPLE_LINES  # the last line read may be cut short
    if dialect is not None:
        # the header from the first line alone if the csv module cannot split them all
        rows = _rows(lines, dialect.sep, cut) or _rows(lines[:1], dialect.sep, False)
        header = (rows or [[]])[0]
        if len(header) == 1:  # one column: or a file that splits at another separator
            for sep in SEPARATORS:
                split = _rows(lines, sep, cut)
                if sep != dialect.sep and split and len(split[0]) > 1:
                    if len({len(r) for r in split}) == 1:
                        raise AekitError(
                            f"input {path}: its lines do not split at the separator "
                            f"{dialect.sep!r} given but at {sep!r} (into {len(split[0])} "
                            f"fields); pass --sep {sep!r}, or leave --sep out"
                        )
        return replace(dialect, one_column=len(header) == 1, encoding=encoding), header
    for sep in SEPARATORS:
        rows = _rows(lines, sep, cut)
        if not rows or len({len(r) for r in rows}) != 1 or len(rows[0]) < 2:
            continue
        columns = [[c.strip() for c in column] for column in zip(*rows[1:], strict=True)]
        comma = any(_DECIMAL_COMMA.match(c) for column in columns for c in column)
        point = any(_points(column) for column in columns)
        decimal = "," if sep != "," and comma and not point else "."
        return Dialect(sep, decimal, encoding=encoding), rows[0]
    header = (_rows(lines[:1], ",", False) or [[]])[0]
    for sep in SEPARATORS[1:]:
        split = (_rows(lines[:1], sep, False) or [[]])[0]
        if len(split) > 1 and len(header) == 1:
            raise AekitError(
                f"input {path}: the header splits at {sep!r} into {len(split)} names but the "
                f"lines do not all split into as many fields; pass the dialect (on the "
                f"command line: aekit --sep {sep!r} COMMAND ..., with --decimal ',' for "
                "decimal commas)"
            )
    return replace(PLAIN, encoding=encoding, one_column=len(header) == 1), header


# byte-order marks of the encodings whose text is not read as UTF-8 or an 8-bit code
# (UTF-32's first: UTF-16's little-endian mark is the start of UTF-32's)
_WIDE_MARKS = {
    b"\xff\xfe\x00\x00": "utf-32",
    b"\x00\x00\xfe\xff": "utf-32",
    b"\xff\xfe": "utf-16",
    b"\xfe\xff": "utf-16",
}


def _encoding_of(path: Path, encoding: str | None) -> str | None:
    """The encoding to read the file in: ``encoding``, or for a UTF-8 file that
    starts with a byte-order mark "utf-8-sig", so that outputs written in it
    start with one too (as Excel wants). Refuse a file that starts with a
    UTF-16 or UTF-32 byte-order mark (Excel's 'Unicode Text' is UTF-16) unless
    it is read in that encoding: in UTF-8 or an 8-bit code its text would be
    garbage."""
    with reading(path), open(path, "rb") as f:
        head = f.read(4)
    wide = next((name for mark, name in _WIDE_MARKS.items() if head.startswith(mark)), None)
    if wide is None:
        bom = encoding is None and head.startswith(codecs.BOM_UTF8)
        return "utf-8-sig" if bom else encoding
    try:
        if encoding is not None and codecs.lookup(encoding).name.startswith(wide):
            return encoding
    except LookupError:
        return encoding  # an unknown encoding: opening the file says so
    raise AekitError(
        f"input {path} is {wide.upper()} text (it starts with the byte-order mark "
        f"{head[: 2 if wide == 'utf-16' else 4].hex(' ').upper()}); give its encoding (on the "
        f"command line: aekit --encoding {wide} COMMAND ...)"
    )


def _rows(lines: list[str], sep: str, cut: bool) -> list[list[str]]:
    """The non-empty rows of ``lines`` split at ``sep`` (the last one dropped when
    ``cut``); none when the csv module cannot split them (pandas then reads
    the file, or says why not). A field may be as long as pandas reads: the
    csv module's own limit (131,072 characters) is lifted while it splits."""
    limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        rows = [r for r in csv.reader(lines, delimiter=sep) if r]
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(limit)
    return rows[:-1] if cut else rows


@contextmanager
def reading(path: Path):
    """Turn what pandas and pyarrow raise on a bad table file into one clear error."""
    try:
        yield
    except AekitError:
        raise
    except UnicodeDecodeError as exc:
        raise AekitError(
            f"input {path}: not {exc.encoding.upper()} text ({exc.reason} at byte "
            f"{exc.start}); give the file's encoding (on the command line: aekit "
            "--encoding cp1252 COMMAND ..., for a file saved by Excel on Windows)"
        ) from None
    except pd.errors.EmptyDataError:
        raise AekitError(f"input {path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0]
        raise AekitError(f"input {path}: malformed CSV ({first})") from None
    except (OSError, ValueError) as exc:
        raise AekitError(f"input {path}: cannot read it ({exc})") from None
