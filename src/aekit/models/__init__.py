"""torch modules: tensors in, a loss out. No NumPy or pandas below this line."""

from .ae import AEModule
from .corruption import Corruption
from .likelihoods import Likelihood
from .networks import MLP
from .vae import MixturePriorVAEModule, StudentTVAEModule, VAEModule

__all__ = [
    "MLP",
    "AEModule",
    "Corruption",
    "Likelihood",
    "MixturePriorVAEModule",
    "StudentTVAEModule",
    "VAEModule",
]
