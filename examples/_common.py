"""What the examples share: their command line and where their figures go."""

from __future__ import annotations

import argparse
from pathlib import Path


def cli(doc: str, run) -> None:
    """``python examples/NAME.py [--fast] [--output-dir DIR]``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few epochs (a smoke test)")
    parser.add_argument("--output-dir", default="examples-output", help="where figures go")
    args = parser.parse_args()
    run(fast=args.fast, output_dir=args.output_dir)


def save(fig, output_dir, name: str) -> Path:
    """Write a matplotlib figure as PNG into ``output_dir``; print and return its path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=90, bbox_inches="tight")
    print(f"figure: {path}")
    return path
