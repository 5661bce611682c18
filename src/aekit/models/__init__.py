"""torch modules: tensors in, a loss out. No NumPy or pandas below this line."""

from .ae import AEModule
from .corruption import Corruption
from .likelihoods import Likelihood
from .networks import MLP
from .vae import StudentTVAEModule, VAEModule

__all__ = ["MLP", "AEModule", "Corruption", "Likelihood", "StudentTVAEModule", "VAEModule"]
