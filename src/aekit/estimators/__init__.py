"""scikit-learn estimators: arrays and DataFrames in, arrays and DataFrames out."""

from .autoencoder import Autoencoder
from .impute import Imputer, PooledEstimate, pool
from .persist import load, save
from .vae import VAE

__all__ = ["VAE", "Autoencoder", "Imputer", "PooledEstimate", "load", "pool", "save"]
