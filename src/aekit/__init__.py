"""aekit: autoencoders for unsupervised learning on messy data.

PCA is the linear baseline (scikit-learn's); :class:`Autoencoder` covers the AE,
the denoising AE and the stacked DAE; :class:`VAE` the variational autoencoder
with a Gaussian or a Student's t prior. :class:`Imputer` fills missing cells
and :class:`AnomalyDetector` flags unlikely rows, with any of these models.
Each of them fits on a :class:`TableFile` (a CSV or Parquet file streamed in
chunks) as well as on tables and arrays in memory.
"""

from . import metrics, report
from .data.missing import ampute
from .data.stream import TableFile
from .errors import AekitError, AekitWarning, ModelFileError
from .estimators import VAE, AnomalyDetector, Autoencoder, Imputer, analyze, load, pool, save
from .version import __version__

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
