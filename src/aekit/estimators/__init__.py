"""scikit-learn estimators: arrays and DataFrames in, arrays and DataFrames out."""

from .anomaly import AnomalyDetector
from .autoencoder import Autoencoder
from .impute import Imputer
from .persist import load, save
from .pooling import PooledEstimate, analyze, pool
from .vae import VAE

__all__ = [
    "VAE",
    "AnomalyDetector",
    "Autoencoder",
    "Imputer",
    "PooledEstimate",
    "analyze",
    "load",
    "pool",
    "save",
]
