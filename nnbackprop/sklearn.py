"""A scikit-learn estimator over :func:`nnbackprop.fit`: :class:`NNBackpropRegressor`.

scikit-learn is an optional extra (``pip install 'nnbackprop[sklearn]'``): only this
module imports it, and ``import nnbackprop`` never imports this module.

>>> from nnbackprop.sklearn import NNBackpropRegressor
>>> model = NNBackpropRegressor(hidden=4).fit(x.reshape(-1, 1), y)   # doctest: +SKIP
>>> model.predict([[0.5]]), model.score(x.reshape(-1, 1), y)        # doctest: +SKIP
"""

# Absolute imports only: "sklearn" below is scikit-learn, never this module (nnbackprop.sklearn).
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from nnbackprop.config import InitConfig, ModelConfig, TrainingConfig
from nnbackprop.errors import NnbackpropError
from nnbackprop.run import fit as nnbackprop_fit

# The estimator's default, as a config's that names no learning rate: Levenberg-Marquardt fits small
# 1-D data far better than gradient descent (benchmarks/FIT_RESULTS.md: on sine, lm reaches the best
# SSR from 90% of starts in a median 407 iterations; gd with learning_rate: auto from none), and
# scikit-learn users expect fit() to fit.  Named here, so that a learning_rate given leaves it lm.
OPTIMIZER = "lm"


class NNBackpropRegressor(RegressorMixin, BaseEstimator):
    """nnbackprop's network as a scikit-learn regressor: one input, ``hidden`` neurons, one linear output.

    ``fit`` trains with :func:`nnbackprop.fit` on ``(X[:, 0], y)``, minimising the sum of
    squared residuals with no penalty; ``predict`` is the trained network's output.  X has
    exactly one feature (the network's one input): put a ``StandardScaler`` before it in a
    ``Pipeline`` when the input's scale is far from 1.

    Parameters
    ----------
    hidden, activation :
        ``model.hidden`` and ``model.activation`` of a config, with its defaults.
    optimizer : {"lm", "gd"}, default="lm"
        ``training.optimizer``.  Levenberg-Marquardt, as for a config that names no
        learning rate: it fits small data far better than gradient descent
        (benchmarks/FIT_RESULTS.md), so the estimator fits well out of the box.
    max_epochs : int or None, default=None
        ``training.max_epochs``; None is the config's default for the optimizer
        (5000 for lm, 1000 for gd).
    learning_rate, min_step_size, gradient_tolerance, restarts, trainable :
        The ``training`` keys of a config, with its defaults (``learning_rate`` is used by gd only).
    random_state : int, RandomState instance or None, default=None
        The seed the starting weights are drawn with (``init.seed``).  None is the
        config's default seed, so that an unseeded fit is reproducible; a RandomState
        draws the seed from it.

    Attributes
    ----------
    run_ : nnbackprop.Run
        The training run: parameters, history, verdict and result document.
    params_ : dict
        The learned parameters by name (w1, b1, ..., b(H+1)).
    loss_curve_ : list of float
        The SSR at the start and after every epoch (the best start's, with restarts).
    n_iter_ : int
        The epochs (lm: iterations) training ran.
    converged_ : bool
        The run's verdict; a fit that did not converge warns with a ``ConvergenceWarning``.
    stop_reason_ : nnbackprop.StopReason
        Why training stopped.
    n_features_in_ : int
        Always 1.
    """

    def __init__(
        self,
        hidden=ModelConfig.hidden,
        activation=ModelConfig.activation,
        optimizer=OPTIMIZER,
        learning_rate=TrainingConfig.learning_rate,
        max_epochs=None,
        min_step_size=TrainingConfig.min_step_size,
        gradient_tolerance=TrainingConfig.gradient_tolerance,
        restarts=TrainingConfig.restarts,
        trainable=TrainingConfig.trainable,
        random_state=None,
    ):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.min_step_size = min_step_size
        self.gradient_tolerance = gradient_tolerance
        self.restarts = restarts
        self.trainable = trainable
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` (n_samples, 1) and ``y`` (n_samples,); return ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _one_feature(X.shape[1])
        try:
            run = nnbackprop_fit({"data": (X[:, 0], y)}, **self._overrides())
        except NnbackpropError as error:  # a hyperparameter the config rejects: scikit-learn says ValueError
            raise ValueError(f"{type(self).__name__}: {error}") from error
        self.run_ = run
        self.params_ = run.params
        self.loss_curve_ = run.history
        self.n_iter_ = int(run.document["epochs"])
        self.converged_ = run.converged
        self.stop_reason_ = run.stop_reason
        if not run.converged:
            warnings.warn(f"{type(self).__name__} did not converge: {run.summary()}", ConvergenceWarning, stacklevel=2)
        return self

    def predict(self, X):
        """The network's output for each row of ``X`` (n_samples, 1)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.run_.predict(X[:, 0])

    def _overrides(self) -> dict:
        """The estimator's parameters as :func:`nnbackprop.fit` overrides (None: the config's default)."""
        seed = self.random_state
        if seed is not None and not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        overrides = {
            "hidden": self.hidden,
            "activation": self.activation,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "max_epochs": self.max_epochs,
            "min_step_size": self.min_step_size,
            "gradient_tolerance": self.gradient_tolerance,
            "restarts": self.restarts,
            "trainable": None if self.trainable is None else list(self.trainable),
            "seed": InitConfig.seed if seed is None else int(seed),
        }
        return {key: value for key, value in overrides.items() if value is not None}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Dense, finite, numeric X and one numeric target.  No tag says "exactly one
        # feature": the checks that fit on several are listed in tests/test_sklearn.py.
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags


def _one_feature(n_features: int) -> None:
    if n_features != 1:
        raise ValueError(
            f"NNBackpropRegressor takes exactly 1 feature (the network has one input), got X with {n_features} "
            "features; pick one column, e.g. X[:, [0]]"
        )
