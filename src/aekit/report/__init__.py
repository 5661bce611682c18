"""Figures and reports: PNG with matplotlib, and one self-contained HTML file.

The figure functions take a fitted estimator (and data where the figure needs
it) and return a matplotlib ``Figure`` (:mod:`.figures`, and the diagnostics of
an imputation in :mod:`.diagnostics`); the image grids take
arrays (:mod:`.draw`); :class:`Report` collects figures and tables into one HTML
file whose images are embedded (:mod:`.page`), with no script and no external
reference, so it can be mailed or archived as it is.

>>> report = Report("Penguins")                              # doctest: +SKIP
>>> report.add_model("imputer", imputer, df, labels=df["species"])  # doctest: +SKIP
>>> report.write("report.html")                              # doctest: +SKIP
"""

from .diagnostics import imputation_trace, imputed_distributions, missingness_pattern
from .draw import MISSING_COLOUR, image_grid, image_rows, imputation_grid
from .figures import (
    figures,
    imputation_errors,
    latent_map,
    reconstruction_grid,
    reconstructions,
    sample_grid,
    save_figures,
    score_histogram,
    training_curves,
)
from .page import Report

__all__ = [
    "MISSING_COLOUR",
    "Report",
    "figures",
    "image_grid",
    "image_rows",
    "imputation_errors",
    "imputation_grid",
    "imputation_trace",
    "imputed_distributions",
    "latent_map",
    "missingness_pattern",
    "reconstruction_grid",
    "reconstructions",
    "sample_grid",
    "save_figures",
    "score_histogram",
    "training_curves",
]
