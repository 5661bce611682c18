"""Write one generated section of benchmarks/README.md, between its markers."""

from __future__ import annotations

from pathlib import Path

from aekit.io import atomic_write

README = Path(__file__).resolve().parent / "README.md"


def write_section(name: str, title: str, text: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``,
    or append a new ``## title`` section holding it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    block = f"{start}\n{text}{end}"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        updated = head + block + rest.split(end, 1)[1]
    else:
        updated = current.rstrip() + f"\n\n## {title}\n\n" + block + "\n"
    atomic_write(README, lambda tmp: tmp.write_text(updated))


def publish(text: str, write: bool, name: str, title: str) -> int:
    """Print a benchmark's tables and, with ``write``, put them in their section
    of benchmarks/README.md (:func:`write_section`); the exit status, 0."""
    print(text)
    if write:
        write_section(name, title, text)
    return 0
