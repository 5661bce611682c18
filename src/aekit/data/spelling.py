"""How a CSV column writes its observed cells, so that its imputed cells are
written alike: ``TRUE`` rather than Python's ``True``, ``3.0`` in a column of
``2.0``, ``01008`` in a column of five-digit codes.

A :class:`Spelling` is a bounded summary of the observed cells, updated chunk
by chunk: a file streamed in chunks spells a chunk's imputed cells like the
observed cells of every chunk read so far, as one read whole spells them like
all of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_WHOLE_WRITTEN = re.compile(r"[-+]?\d+([.,]0+)")  # "3.0": a whole number written as a float


@dataclass
class Spelling:
    """What the observed cells of a column look like: the texts that hold
    letters (with the spelling of each but for case), their lengths, whether
    all are digits and some start with a zero (codes), and the zero decimals
    each is written with (``None`` for a cell that is not a whole number)."""

    lettered: set = field(default_factory=set)
    cased: dict = field(default_factory=dict)
    widths: set = field(default_factory=set)
    digits: bool = True
    zero: bool = False
    tails: set = field(default_factory=set)

    def add(self, cells: Iterable[str]) -> Spelling:
        """Take in observed cells (their text as written); returns itself."""
        for v in set(cells):
            if v.lower() != v.upper():  # a letter: it may be spelled otherwise
                self.lettered.add(v)
                self.cased[v.lower()] = v
            self.widths.add(len(v))
            self.digits &= v.isdigit()
            self.zero |= v[:1] == "0"
            self.tails.add(m.group(1) if (m := _WHOLE_WRITTEN.fullmatch(v)) else None)
        return self

    def spell(self, imputed: list) -> list:
        """Imputed cells' text in this spelling: the observed spelling that
        matches but for case, whole numbers with the column's zero decimals when
        every observed cell is written so, and the leading zeros of a column of
        codes written with as many digits each."""
        out = [v if v in self.lettered else self.cased.get(v.lower(), v) for v in imputed]
        if len(self.widths) == 1 and self.digits and self.zero:
            (width,) = self.widths
            out = [v.zfill(width) if v.isdigit() else v for v in out]
        if len(self.tails) == 1 and None not in self.tails:
            (tail,) = self.tails
            out = [v + tail if v.lstrip("+-").isdigit() else v for v in out]
        return out
