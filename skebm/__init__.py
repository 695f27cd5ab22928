"""skebm: energy-based models (Boltzmann machines) for scikit-learn."""

from ._base import SkebmVersionWarning
from ._boltzmann import BoltzmannMachine
from ._dbm import DBM
from ._dbn import DBN, DBNClassifier
from ._hopfield import HopfieldNetwork
from ._rbm import BernoulliRBM

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "DBM",
    "DBN",
    "DBNClassifier",
    "HopfieldNetwork",
    "SkebmVersionWarning",
]
__version__ = "0.1.0"
