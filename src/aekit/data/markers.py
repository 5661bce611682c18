"""Text that pandas' markers ("NA", "None", "null", ...) read as missing: in a
column of text it may be a value (the country code NA of Namibia, the answer
None), and aekit would impute over it. The reader says so, unless the file
writes its missing numbers the same way, as R's ``write.csv`` writes ``NA``:
then the text is the file's own marker, and the advice (``--na ''``) would
leave those numbers unreadable. A column whose values all look like the marker
(two-letter codes beside ``NA``) is named all the same."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import warn
from .cells import is_text


def read_as_missing(typed: pd.Series, written: pd.Series) -> list:
    """The texts of the cells that are missing in ``typed`` (a column as read) but
    not empty in ``written`` (the same cells as the file writes them)."""
    return written[typed.isna().to_numpy() & (written.str.strip() != "").to_numpy()].tolist()


def forms(typed: pd.Series) -> set:
    """The forms of a text column's observed values, as :func:`maybe_values`
    compares them with a marker's (:func:`_form`)."""
    return {_form(str(v)) for v in typed.dropna().unique()}


def _form(text: str) -> tuple:
    """(length, letters only, upper case)."""
    return len(text), text.isalpha(), text.isupper()


def maybe_values(texts, own: set, column_forms: set) -> bool:
    """Whether a text column's cells written as ``texts`` and read as missing may
    be values: one of them is not among ``own``, the texts of the file's missing
    numbers, or the column's observed values all have one's form."""
    return any(t not in own or column_forms == {_form(t)} for t in texts)


def warn_markers(label: str, count: int, texts) -> None:
    """Say that ``count`` cells of ``label`` written as ``texts`` are read as missing."""
    warn(
        f"{label}: {count} cell(s) written {sorted(set(texts))[:3]} are read as missing "
        "(pandas' markers); if they are values, pass --na '' on the command line "
        "(read_csv(keep_default_na=False, na_values=['']) in Python)"
    )


class Markers:
    """The cells of text columns that pandas' markers made missing, counted over
    the chunks of a file (or its one frame), with what decides whether they may
    be values (:func:`maybe_values`): the texts of its missing numbers, and the
    forms of each text column's values."""

    def __init__(self):
        self.found: dict[str, tuple[int, set]] = {}  # column: (cells, their texts)
        self.forms: dict[str, set] = {}
        self.own: set = set()

    def add(self, typed: pd.DataFrame, written: pd.DataFrame) -> None:
        """Count a chunk as read (``typed``) and as its file writes it (``written``,
        text, the same columns and rows)."""
        for name in typed.columns:
            column = typed[name]
            found = read_as_missing(column, written[name]) if column.isna().any() else []
            if not is_text(column) or pd.api.types.infer_dtype(column) == "boolean":
                self.own.update(found)  # numbers, times, flags: the file's markers
                continue
            self.forms[name] = self.forms.get(name, set()) | forms(column)
            if found:
                count, texts = self.found.get(name, (0, set()))
                self.found[name] = (count + len(found), texts | set(found))

    def warn(self, path) -> None:
        """Name each text column whose cells read as missing may be values."""
        for name, (count, texts) in self.found.items():
            if maybe_values(texts, self.own, self.forms[name]):
                warn_markers(f"column {name!r} of {path}", count, texts)


def warn_text_markers(path: Path, df: pd.DataFrame, args: dict) -> None:
    """Warn where a text column of ``df`` (the CSV file ``path`` read with
    ``args``) has cells that pandas' markers made missing and that may be values
    (:class:`Markers`); say how to keep them (``--na ''``)."""
    holed = list(df.columns[df.isna().any().to_numpy()])
    if not any(is_text(df[c]) for c in holed):
        return
    markers = Markers()
    written = pd.read_csv(path, **args, usecols=holed, dtype=str, keep_default_na=False)
    markers.add(df[holed], written)
    markers.warn(path)
