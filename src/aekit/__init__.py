"""aekit: autoencoders for unsupervised learning on messy data.

PCA is the linear baseline (scikit-learn's); :class:`Autoencoder` covers the AE,
the denoising AE and the stacked DAE; :class:`VAE` the variational autoencoder
with a Gaussian or a Student's t prior. :class:`Imputer` fills missing cells
and :class:`AnomalyDetector` flags unlikely rows, with any of these models.
Each of them fits on a :class:`TableFile` (a CSV or Parquet file streamed in
chunks) as well as on tables and arrays in memory.

The library is imported on the first use of one of its names (``aekit.Imputer``,
``from aekit import VAE``, ``aekit.data``), not by ``import aekit`` itself: a
module that needs only :mod:`aekit.errors`, such as the command line answering
``--help``, does not load torch and scikit-learn (about three seconds).
"""

import importlib as _importlib  # private names: not offered as aekit.<name>
from typing import TYPE_CHECKING as _TYPE_CHECKING

from .errors import AekitError, AekitWarning, ModelFileError
from .version import __version__

if _TYPE_CHECKING:  # what the first use imports, for type checkers and editors
    from . import metrics, report
    from .data.missing import ampute
    from .data.stream import TableFile
    from .estimators import VAE, AnomalyDetector, Autoencoder, Imputer, analyze, load, pool, save

__all__ = [
    "VAE",
    "AekitError",
    "AekitWarning",
    "AnomalyDetector",
    "Autoencoder",
    "Imputer",
    "ModelFileError",
    "TableFile",
    "__version__",
    "ampute",
    "analyze",
    "load",
    "metrics",
    "pool",
    "report",
    "save",
]
# the modules whose names the package gives, imported together on the first use (so
# that afterwards each subpackage they load, e.g. ``aekit.data.images``, is an attribute
# as when ``import aekit`` imported them; ``aekit.metrics`` and ``aekit.report`` are
# set by their import)
_MODULES = {
    "metrics": (),
    "report": (),
    "data.missing": ("ampute",),
    "data.stream": ("TableFile",),
    "estimators": (
        "VAE",
        "AnomalyDetector",
        "Autoencoder",
        "Imputer",
        "analyze",
        "load",
        "pool",
        "save",
    ),
}
_loading = []  # non-empty while the first use imports the library


def __getattr__(name: str):
    # dunder look-ups (copy, pickle, doctest) import nothing; nor does ``from .. import
    # io`` in a module that the first use is importing (Python then imports the module)
    if not name.startswith("__") and not _loading:
        _loading.append(name)
        try:
            for module, names in _MODULES.items():
                loaded = _importlib.import_module(f".{module}", __name__)
                globals().update({public: getattr(loaded, public) for public in names})
        finally:
            _loading.clear()
        if name in globals():
            return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
