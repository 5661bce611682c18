"""What a table's cells may hold: one number or one text value each; text in a
column of numbers only where it says the number is missing ("n/a", "?") or is
written in another way ("12,5"), and then the column is refused, not modelled
as categories."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import AekitError, warn


def check_cells(df: pd.DataFrame, name: str) -> None:
    """Refuse column names of strings and other types together (scikit-learn's
    checks would), and cells that hold a list, an array or a dict: aekit models one
    value per cell."""
    kinds = {isinstance(c, str) for c in df.columns}
    if len(kinds) > 1:
        mixed = [c for c in df.columns if not isinstance(c, str)][:3]
        raise AekitError(
            f"{name} has column names that are strings and others that are not (e.g. "
            f"{mixed!r}); make them all strings, e.g. df.columns = df.columns.astype(str)"
        )
    for c in df.columns[(df.dtypes == "object").to_numpy()]:
        s = df[c]
        if pd.api.types.infer_dtype(s, skipna=True) != "mixed":  # text with NaN: "string"
            continue
        nested = s.map(lambda v: pd.api.types.is_list_like(v) and not isinstance(v, str))
        if nested.any():
            example = s[nested].iloc[0]
            raise AekitError(
                f"column {c!r} of {name} holds {type(example).__name__} values (e.g. "
                f"{example!r}); aekit models one number or text value per cell"
            )


# digits grouped by three ("721,890", "1.234.567,5"), and a decimal comma that is
# not such a group ("12,5", "0,1234")
THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}([,. ]\d{3})+([.,]\d+)?\s*$")
DECIMAL_COMMA = re.compile(r"^\s*[-+]?(\d+,\d{1,2}|\d+,\d{4,})\s*$")
# what people type for "no value", and numbers written with a decimal comma or
# thousands separators: text that means a numeric column was read as text
COMMA_NUMBERS = THOUSANDS.pattern + r"|^\s*[-+]?\d+,\d+\s*$"
# a number with a currency sign before or after it, or a percent sign after it:
# "$1,200", "-€5", "12.5%", "30 £"
UNIT_NUMBERS = r"\s*[-+]?\s*[$€£¥]\s*[-+]?\d[\d,.]*\s*|\s*[-+]?\d[\d,.]*\s*[%$€£¥]\s*"
# dates aekit may not read as times: day and month with slashes or dots ("05/03/2021",
# "5.3.21") or slashed ISO ("2021/03/05"); aekit.data.times reads those with a
# four-digit year whose column says whether the day or the month comes first
OTHER_DATES = r"\d{1,2}([/.])\d{1,2}\1\d{2}(\d{2})?|\d{4}/\d{1,2}/\d{1,2}"
# a value beyond a limit of detection ("<0.5", "> 100"), in a column of numbers
# (at least this share of its cells): a numeric column read as text
CENSORED = re.compile(r"\s*[<>≤≥]=?\s*[-+]?(\d+[.,]?\d*|[.,]\d+)\s*")
MOSTLY_NUMBERS = 0.9
# a text column of at least this many values, half of its cells or more a value no
# other cell holds: identifiers, names or free text
IDENTIFIERS = 20
MISSING_MARKERS = re.compile(
    r"^\s*(|\?+|-+|\.|n/?a|nan|null|none|missing|unknown|#n/a|#value!|#div/0!)\s*$|"
    + COMMA_NUMBERS,
    re.IGNORECASE,
)
# text that is no identifier: numbers, dates or markers written in other ways
_NOT_KEYS = (MISSING_MARKERS, re.compile(UNIT_NUMBERS), re.compile(OTHER_DATES), CENSORED)


# the key of DataFrame.attrs that marks a frame read by aekit (aekit.data.files)
READ_BY_AEKIT = "aekit.read"
# a CSV column without a name in its header, which pandas calls "Unnamed: <k>"
UNNAMED_ADVICE = "do the lines end with a separator (as spreadsheets export them)? Remove it"
_PANDAS_UNNAMED = re.compile(r"Unnamed: (\d+)")


def unnamed_position(name) -> int | None:
    """The position (from 1) of a CSV column that has no name in its header, which
    pandas names ``Unnamed: <k>``; None for a named column."""
    found = _PANDAS_UNNAMED.fullmatch(name) if isinstance(name, str) else None
    return None if found is None else int(found[1]) + 1


def entirely_missing(name, where: str = "") -> AekitError:
    """The error for a column without one value; one without a name in its CSV
    header is named by its position, with advice."""
    position = unnamed_position(name)
    if position is None:
        return AekitError(
            f"column {name!r}{where} is entirely missing (every value is NaN); drop it"
        )
    return AekitError(
        f"column {position}{where} has no name in its header and no value; {UNNAMED_ADVICE}"
    )


def many_levels(counts: pd.Series) -> tuple[int, int, int] | None:
    """(values, cells, values held by one cell) of a text column of identifiers,
    names or free text (``counts``: the cells of each value): at least
    :data:`IDENTIFIERS` values, half of its cells or more a value of their own,
    none a number; else None. Every cell a value of its own: identifiers."""
    distinct, cells, once = len(counts), int(counts.sum()), int((counts == 1).sum())
    if distinct < IDENTIFIERS or 2 * once < cells:
        return None
    values = counts.index.to_series(index=range(len(counts)))
    if pd.to_numeric(values.astype(object), errors="coerce").notna().any():
        return None
    return distinct, cells, once


def keys_or_text(counts: pd.Series) -> bool:
    """Whether a text column (``counts``: the cells of each value) holds
    identifiers, names or free text: :func:`many_levels` (half of its cells or
    more a value no other cell holds), none of them text that aekit reads as a
    number, a date or a missing value in another way (``12,5``, ``$1,200``,
    ``<0.5``, ``05/03/2021``, ``n/a``: such a column is refused or named by
    :func:`refuse_stray_text`). An imputer or a detector leaves such a column out
    of its models."""
    if many_levels(counts) is None:
        return False
    return not any(p.fullmatch(str(v)) for v in counts.index for p in _NOT_KEYS)


def warn_many_levels(label: str, levels: tuple[int, int, int], left_out: bool = True) -> None:
    """Warn that a model takes a column of :func:`many_levels` as categories;
    ``left_out``: one an imputer or a detector would leave out (:func:`keys_or_text`)."""
    distinct, cells, once = levels
    how = ", each once (identifiers?)"
    if once < cells:
        how = f" in {cells} cells, {once} of them once (names, free text?)"
    warn(
        f"{label} holds {distinct} values{how}: it is modelled as {distinct} "
        "categories, a missing cell gets another row's value, and a row whose value "
        "the model did not train on scores as unlikely; drop it or make it the index to "
        "keep it out of the model"
        + " (an imputer or a detector leaves such a column out of its models)"
        * left_out
    )


def refuse_stray_text(label: str, counts: pd.Series, hint: str, *, levels: bool = True) -> None:
    """A text column whose cells are numbers but for missing-value markers
    ("n/a", "?", "") or numbers written with a comma ("12,5") is a numeric column
    read as text: modelling it as categories would be silent garbage, so say
    which cells are at fault (``counts``: the cells of each value; ``hint``: how
    to mend it). Other text ("K", "02134-1234") is left alone: the column is
    then categorical, as any text column; with ``levels``, a warning names a
    column of identifiers, names or free text (:func:`many_levels`), whose
    missing cells would be filled with other rows' values."""
    values = counts.index.to_series(index=range(len(counts)))
    numeric = pd.to_numeric(values.astype(object), errors="coerce").notna().to_numpy()
    if levels and (many := many_levels(counts)) is not None:
        warn_many_levels(label, many, keys_or_text(counts))
    if numeric.all() and values.astype(str).str.contains(r"[.eE]").any():
        warn(
            f"{label} holds numbers written as text (e.g. {values.iloc[0]!r}): it is "
            f"modelled as {len(values)} categories; pd.to_numeric(...) makes it numbers, "
            "a pandas category keeps it categories without this warning"
        )
    texts = values.astype(str)
    if texts.str.fullmatch(UNIT_NUMBERS).all():
        warn(
            f"{label} holds numbers written with a unit (e.g. {values.iloc[0]!r}): it is "
            f"modelled as {len(values)} categories; write the numbers without their signs "
            "to model them as numbers (a pandas category keeps it categories without this "
            "warning)"
        )
    if texts.str.fullmatch(f"(?:{OTHER_DATES})" + r"(\s+\d{1,2}:\d{2}(:\d{2})?)?").all():
        warn(
            f"{label} holds dates in a format aekit does not read as times (e.g. "
            f"{values.iloc[0]!r}: a two-digit year, or no day after the 12th to say whether "
            f"the day or the month comes first): it is modelled as {len(values)} "
            "categories; pd.to_datetime(df[name], format=...) with the format that says "
            "which comes first makes it a column of times (a pandas category keeps it "
            "categories without this warning)"
        )
    # numbers written with a decimal comma or thousands separators are numbers too
    written = numeric | values.astype(str).str.match(COMMA_NUMBERS).to_numpy()
    cells = counts.to_numpy()
    total, numbers = int(cells.sum()), int(cells[numeric].sum())
    stray = values[~numeric].tolist()
    # however many the markers: a marker modelled as a level would be imputed
    if not stray or not cells[written].any():
        return
    examples = ", ".join(repr(v) for v in stray[:3])
    if not all(isinstance(v, str) and MISSING_MARKERS.match(v) for v in stray):
        censored = [v for v in stray if isinstance(v, str) and CENSORED.fullmatch(v)]
        if censored and numbers >= MOSTLY_NUMBERS * total:
            warn(
                f"{label} holds numbers but {total - numbers} cell(s) of other text, "
                f"censored values among them ({', '.join(map(repr, censored[:3]))}): it is "
                f"modelled as {len(values)} categories; make those cells numbers (e.g. the "
                "limit) or missing to model it as numbers (a pandas category keeps it "
                "categories without this warning)"
            )
        return
    grouped = [v for v in stray if isinstance(v, str) and THOUSANDS.match(v)]
    if grouped and not any(isinstance(v, str) and DECIMAL_COMMA.match(v) for v in stray):
        mark = re.search(r"\d([,. ])", grouped[0]).group(1)
        raise AekitError(
            f"{label} holds numbers written with thousands separators ({grouped[0]!r}: "
            f"{mark!r} every three digits), which aekit does not read: write the numbers "
            f"without them (in Python: pd.read_csv(..., thousands={mark!r}), then pass the "
            "frame); if the mark is a decimal mark, pass it as such instead"
        )
    # markers, not numbers written with a comma: on the command line, --na reads them
    markers = [v for v in stray if not re.match(COMMA_NUMBERS, v)][:3]
    cli = " ".join(f"--na {v!r}" for v in markers)
    cli = f" (on the command line, aekit {cli} COMMAND ... reads them as missing)" if cli else ""
    raise AekitError(
        f"{label} holds numbers but {total - numbers} cell(s) of text ({examples}); {hint}{cli}"
    )


# an integer written with a leading zero ("02134", "007"): a code (a postal code,
# an identifier, a padded month), not a quantity; read as a number it would lose
# its zeros, and an imputed code between two others would mean nothing
LEADING_ZERO = r"\s*[-+]?0\d+\s*"


def whole_numbers(s: pd.Series) -> bool:
    """Whether pandas read ``s`` as whole numbers: integers, or floats (a column
    with holes) whose values are all whole."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    if not pd.api.types.is_float_dtype(s.dtype):
        return False
    v = s.dropna().to_numpy(dtype=float)
    return bool(len(v)) and bool((v == v.round()).all())


def whole_number_columns(df: pd.DataFrame) -> list:
    """The columns of ``df`` of whole numbers (:func:`whole_numbers`): those that
    may be codes written with leading zeros (see :func:`codes`)."""
    return [name for name in df.columns if whole_numbers(df[name])]


def codes(written: pd.Series) -> str | None:
    """The first cell of ``written`` (a column's cells as its file writes them)
    that is an integer with a leading zero, or None: such a column is read as
    text (see :data:`LEADING_ZERO`)."""
    found = written[written.str.fullmatch(LEADING_ZERO, na=False)]
    return None if found.empty else str(found.iloc[0])


def warn_row_numbers(path, header: list, first: pd.Series) -> None:
    """Warn where a CSV file's first column has no name in its ``header`` and its
    values ``first`` (those read: the file's, or its first chunk's) number the
    rows from 0 or 1: the index pandas' ``to_csv`` writes, or R's row names,
    which would be modelled as a column of the data."""
    if len(header) < 2 or header[0].lstrip("\ufeff") != "":
        return
    if (start := _numbering(first)) is not None:
        warn(
            f"input {path}: its first column has no name in the header and numbers the "
            f"rows {start}, {start + 1}, {start + 2}, ... (the index pandas' to_csv writes, "
            "or R's row names): it is modelled as a column of the data; write the file "
            "without it (to_csv(..., index=False), write.csv(..., row.names=FALSE)) or "
            "remove that column"
        )


def name_of(X) -> str:
    """What messages call ``X``: the file aekit's reader read it from, else "X"."""
    return X.attrs.get(READ_BY_AEKIT, "X") if isinstance(X, pd.DataFrame) else "X"


def warn_index_column(X) -> None:
    """Warn where ``X`` is a DataFrame whose first column, ``Unnamed: 0``, numbers
    the rows from 0 or 1: a file's index (pandas' ``to_csv``) or R's row names,
    read back by ``pd.read_csv`` as a column, which would be modelled as data.
    Frames that aekit's reader gave (:data:`READ_BY_AEKIT`) are skipped: it said so
    for their file (:func:`warn_row_numbers`)."""
    if not isinstance(X, pd.DataFrame) or X.shape[1] < 2 or X.attrs.get(READ_BY_AEKIT):
        return
    if X.columns[0] == "Unnamed: 0" and (start := _numbering(X.iloc[:, 0])) is not None:
        warn(
            f"column 'Unnamed: 0' of X numbers the rows {start}, {start + 1}, "
            f"{start + 2}, ... (a file's index, or R's row names, read back as a column): "
            "it is modelled as a column of the data; read the file with "
            "pd.read_csv(..., index_col=0), or drop that column"
        )


def _numbering(values: pd.Series) -> int | None:
    """0 or 1 where ``values`` (integers, at least two) count the rows from it, else None."""
    if len(values) < 2 or pd.api.types.is_bool_dtype(values):
        return None
    if not pd.api.types.is_integer_dtype(values) or values.hasnans:
        return None
    numbers = values.to_numpy()
    for start in (0, 1):
        if np.array_equal(numbers, np.arange(start, start + len(numbers))):
            return start
    return None


def warn_codes(label: str, example: str, levels: int | None = None) -> None:
    """Say that ``label`` is read as codes (of ``levels`` values, where counted),
    and how to have numbers instead."""
    count = "" if levels is None else f", {levels} categories"
    warn(
        f"{label} holds numbers written with leading zeros (e.g. {example!r}): it is read "
        f"as codes (text{count}) so that its cells are written back as they are and an "
        "imputed cell is one of its codes; to model it as numbers, write them without "
        "leading zeros"
    )


def codes_as_text(df: pd.DataFrame, schema) -> pd.DataFrame:
    """``df`` with each column of whole numbers that ``schema`` (a fitted model's
    columns) has as a category of text levels given as the text of those numbers
    (10001 as "10001"): a file that writes no code of such a column with a leading
    zero reads it as numbers (see :func:`codes`), yet a model fitted on codes knows
    them as text. ``df`` itself is not modified."""
    out = df
    for col in schema:
        s = df.get(col.name)
        if s is None or col.kind != "categorical" or not whole_numbers(s):
            continue
        if all(isinstance(c, str) for c in col.categories):
            out = df.copy(deep=False) if out is df else out
            out[col.name] = s.map(lambda x: str(int(x)), na_action="ignore").astype(object)
    return out


# Arrow's integer types as pandas' nullable integers
NULLABLE_INTEGERS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def holed_integers(df: pd.DataFrame, schema: pa.Schema) -> list:
    """The columns of ``df`` (read from Arrow data of ``schema``) that Arrow holds
    as integers and pandas made floats: integers with holes, which a float64
    rounds beyond 2**53 (an id such as 2**60 + 1) and writes back as floats. A
    Parquet file written by pandas from nullable integers says so in its
    metadata; one written by pyarrow, Spark, DuckDB or Polars does not."""
    return [
        f.name
        for f in schema
        if f.type in NULLABLE_INTEGERS and f.name in df.columns and df[f.name].dtype.kind == "f"
    ]


def as_nullable(df: pd.DataFrame, columns: list, arrow) -> pd.DataFrame:
    """``df`` with ``columns`` taken again from ``arrow`` (a pyarrow Table or
    RecordBatch holding them) as pandas' nullable integers, exactly."""
    for name in columns:
        values = arrow.column(name).to_pandas(types_mapper=NULLABLE_INTEGERS.get)
        df[name] = pd.Series(values.array, index=df.index)
    return df


def is_text(s: pd.Series) -> bool:
    """Whether ``s`` holds text (or objects) rather than numbers, flags or times."""
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def flag_of_word(value):
    """True for the text "true" (in any case, as spreadsheets write TRUE), False
    for "false", any other value as it is."""
    if not isinstance(value, str):
        return value
    return {"true": True, "false": False}.get(value.strip().lower(), value)


def dates_as_times(df: pd.DataFrame, types: pa.Schema) -> pd.DataFrame:
    """``df`` with each column that ``types`` (a Parquet file's Arrow schema)
    stores as dates (date32, as R, Spark, DuckDB and Polars write them; pandas
    reads them as ``datetime.date`` objects) as a column of times at midnight,
    which aekit models as dates (:func:`as_input_types` writes them back as dates)."""
    for f in types:
        if pa.types.is_date(f.type) and f.name in df.columns and df[f.name].dtype == object:
            df[f.name] = pd.to_datetime(df[f.name])
    return df


def as_input_types(table: pa.Table, types: pa.Schema | None) -> pa.Table:
    """An output table with the types of its input Parquet file (``types``) where
    pandas' round trip changed them: dates as dates again, and decimals at their
    declared precision (pandas infers it from the values) when the values fit it."""
    if types is None:
        return table
    for i, f in enumerate(table.schema):
        given = types.field(f.name).type if f.name in types.names else None
        if given is None or given == f.type:
            continue
        if pa.types.is_date(given) or (pa.types.is_decimal(given) and pa.types.is_decimal(f.type)):
            try:
                table = table.set_column(i, f.with_type(given), table.column(i).cast(given))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue  # a value does not fit the input's type: the inferred one stays
    return table
