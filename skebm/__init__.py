"""skebm: energy-based models (Boltzmann machines) for scikit-learn."""

from ._rbm import BernoulliRBM

__all__ = ["BernoulliRBM"]
__version__ = "0.1.0"
