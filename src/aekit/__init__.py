"""aekit: autoencoders for unsupervised learning on messy data.

PCA is the linear baseline (scikit-learn's); :class:`Autoencoder` covers the AE,
the denoising AE and the stacked DAE; :class:`VAE` the variational autoencoder
with a Gaussian or a Student's t prior.
"""

__version__ = "0.1.0"

from .errors import AekitError, ModelFileError
from .estimators import VAE, Autoencoder, load, save

__all__ = ["VAE", "AekitError", "Autoencoder", "ModelFileError", "__version__", "load", "save"]
