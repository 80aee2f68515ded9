"""nnbackprop: train, inspect and check a small softplus network with hand-derived backpropagation."""

from .config import Config
from .config import load as load_config
from .errors import ConfigError, DataError, NnbackpropError, ResultError
from .network import ACTIVATIONS, Objective, forward, pack, param_names, ssr_and_gradient, unpack
from .training import State, initial_theta, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Config",
    "ConfigError",
    "DataError",
    "NnbackpropError",
    "Objective",
    "ResultError",
    "State",
    "forward",
    "initial_theta",
    "load_config",
    "pack",
    "param_names",
    "ssr_and_gradient",
    "train",
    "unpack",
]
