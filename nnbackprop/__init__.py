"""nnbackprop: train, inspect and check a small softplus network with hand-derived backpropagation.

>>> import nnbackprop
>>> run = nnbackprop.fit("configs/dosage.yaml")     # doctest: +SKIP
>>> run.params, run.converged, run.predict([0.5])   # doctest: +SKIP
"""

from .config import Config
from .config import load as load_config
from .errors import ConfigError, DataError, NnbackpropError, OutputError, ResultError
from .kernel import Kernel
from .network import ACTIVATIONS, forward, jacobian, pack, param_names, ssr, ssr_and_gradient, unpack
from .run import Run, fit, prepare
from .stopping import StopReason
from .training import Interrupt, Settings, State, initial_theta, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Config",
    "ConfigError",
    "DataError",
    "Interrupt",
    "Kernel",
    "NnbackpropError",
    "OutputError",
    "ResultError",
    "Run",
    "Settings",
    "State",
    "StopReason",
    "fit",
    "forward",
    "initial_theta",
    "jacobian",
    "load_config",
    "pack",
    "param_names",
    "prepare",
    "ssr",
    "ssr_and_gradient",
    "train",
    "unpack",
]
