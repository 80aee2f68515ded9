"""nnbackprop: train, inspect and check a small softplus network with hand-derived backpropagation.

>>> import nnbackprop
>>> run = nnbackprop.fit("configs/dosage.yaml")     # doctest: +SKIP
>>> run.params, run.converged, run.predict([0.5])   # doctest: +SKIP

The names below load on first use, so that ``import nnbackprop`` (and the command line's
start) costs nothing until something is used.
"""

import importlib

__version__ = "0.1.0"

_WHERE = {  # public name -> (module, name there)
    "ACTIVATIONS": ("network", "ACTIVATIONS"),
    "Config": ("config", "Config"),
    "ConfigError": ("errors", "ConfigError"),
    "DataError": ("errors", "DataError"),
    "Interrupt": ("training", "Interrupt"),
    "Kernel": ("kernel", "Kernel"),
    "NnbackpropError": ("errors", "NnbackpropError"),
    "OutputError": ("errors", "OutputError"),
    "ResultError": ("errors", "ResultError"),
    "Run": ("run", "Run"),
    "Settings": ("training", "Settings"),
    "State": ("training", "State"),
    "StopReason": ("stopping", "StopReason"),
    "fit": ("run", "fit"),
    "forward": ("network", "forward"),
    "initial_theta": ("training", "initial_theta"),
    "jacobian": ("network", "jacobian"),
    "load_config": ("config", "load"),
    "pack": ("network", "pack"),
    "param_names": ("network", "param_names"),
    "prepare": ("run", "prepare"),
    "ssr": ("network", "ssr"),
    "ssr_and_gradient": ("network", "ssr_and_gradient"),
    "train": ("training", "train"),
    "unpack": ("network", "unpack"),
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        module, attribute = _WHERE[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    else:
        try:  # a module of the package: nnbackprop.config, nnbackprop.network, ...
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError:
            raise AttributeError(f"module 'nnbackprop' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_WHERE])
