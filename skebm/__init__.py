"""skebm: energy-based models (Boltzmann machines) for scikit-learn."""

from ._base import SkebmVersionWarning
from ._rbm import BernoulliRBM

__all__ = ["BernoulliRBM", "SkebmVersionWarning"]
__version__ = "0.1.0"
