"""skebm: energy-based models (Boltzmann machines) for scikit-learn."""

from ._base import SkebmVersionWarning
from ._boltzmann import BoltzmannMachine
from ._dbm import DBM
from ._dbn import DBN, DBNClassifier
from ._gaussian import GaussianBernoulliRBM
from ._hopfield import HopfieldNetwork
from ._rbm import BernoulliRBM
from ._threads import config_context, get_config, set_config

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "DBM",
    "DBN",
    "DBNClassifier",
    "GaussianBernoulliRBM",
    "HopfieldNetwork",
    "SkebmVersionWarning",
    "config_context",
    "get_config",
    "set_config",
]
__version__ = "0.1.0"
