"""The report: one self-contained HTML file of figures and tables, whose
images are embedded (``data:`` URIs), with no script and no external
reference, so it can be mailed or archived as it is."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write
from ..version import __version__
from .draw import png_bytes
from .figures import figures, parts_of

TITLES = {
    "training": "Training curves",
    "imputation_errors": "Imputation error on held-out cells",
    "latent_map": "Latent space",
    "reconstructions": "Reconstructions against the data",
    "scores": "Anomaly scores",
    "imputations": "Images with holes (red) and their imputations",
    "imputed_distributions": "Observed and imputed values per column",
    "missingness_pattern": "Missingness pattern of the table",
    "imputation_trace": "Trace of the imputation",
    "samples": "New images drawn from the model",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.6em 0; }
.note { color: #555; font-size: 0.9em; }
"""


class Report:
    """A self-contained HTML report built from figures, tables and models."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def add_heading(self, text: str) -> Report:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")
        return self

    def add_text(self, text: str) -> Report:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')
        return self

    def add_table(self, title: str, table: pd.DataFrame, *, floatfmt: str = "{:.4g}") -> Report:
        def cell(v):
            if isinstance(v, float):
                return floatfmt.format(v) if np.isfinite(v) else "-"
            return "-" if v is None else v

        formatted = table.astype(object).map(cell)
        self.parts.append(f"<h3>{html.escape(title)}</h3>")
        self.parts.append(formatted.to_html(index=False, escape=True, border=0, na_rep="-"))
        return self

    def add_figure(self, title: str, fig) -> Report:
        data = base64.b64encode(png_bytes(fig)).decode("ascii")
        alt = html.escape(title, quote=True)
        self.parts.append(f"<h3>{html.escape(title)}</h3>")
        self.parts.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
        return self

    def add_model(self, name: str, model, X=None, labels=None) -> Report:
        """A section for one fitted estimator: a summary and its figures."""
        models, detector, imputer = parts_of(model)
        self.add_heading(name)
        first = models[0]
        summary = {
            "estimator": type(model).__name__,
            "model": type(first).__name__,
            "latent size": getattr(first, "latent_dim_", first.latent_dim),
            "columns": len(first.encoder_.schema),
            "epochs trained": ", ".join(str(m.n_epochs_) for m in models),
        }
        if first.image_shape_ is not None:
            summary["columns"] = f"{summary['columns']} pixels of images " + " x ".join(
                map(str, first.image_shape_)
            )
        if detector is not None:
            summary["anomaly threshold (nats)"] = f"{detector.offset_:.4g}"
        if imputer is not None:
            summary["models averaged"] = len(models)
        self.add_table(
            "Summary", pd.DataFrame({"": list(summary), "value": list(summary.values())})
        )
        for key, fig in figures(model, X, labels).items():
            self.add_figure(TITLES[key], fig)
        return self

    def html(self) -> str:
        title = html.escape(self.title)
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n{body}\n"
            f'<p class="note">Written by aekit {__version__}.</p>\n</body>\n</html>\n'
        )

    def write(self, path) -> Path:
        """Write the report (atomically)."""
        path = Path(path)
        text = self.html()
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path
