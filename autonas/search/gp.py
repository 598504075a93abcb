"""An exact Gaussian process with a squared-exponential kernel, updated one observation at a time.

The model, on targets normalised to zero mean and unit variance, is
``y = f(x) + ε`` with ``cov f = a · k_ℓ`` (``k_ℓ`` the squared-exponential kernel
of length scale ℓ) and ``var ε = a · r``. The amplitude ``a`` has a closed-form
maximum-likelihood value for given ``(ℓ, r)``, so the marginal likelihood is
maximised over ℓ and the noise ratio ``r`` only: a grid, then L-BFGS-B from its
best point. A new observation extends the Cholesky factor by one row (O(n²));
refitting hyperparameters (O(n³) per evaluated setting) is left to the caller,
to do now and then.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

from autonas.search.kernel import squared_exponential

__all__ = ["GaussianProcess", "median_distance"]

_LENGTH_FACTORS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
_NOISE_RATIOS = (1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
_LENGTH_BOUNDS = (1.0 / 32.0, 32.0)  # times the median distance
_NOISE_BOUNDS = (1e-6, 10.0)
_DEFAULT_NOISE_RATIO = 1e-2
_MIN_POINTS_TO_OPTIMIZE = 3


class GaussianProcess:
    """Exact GP regression with a squared-exponential kernel on Euclidean inputs.

    Args:
        length_scale: Fixed length scale; None (default) fits it by marginal likelihood.
        noise_ratio: Fixed noise variance relative to the signal variance;
            None (default) fits it by marginal likelihood.
        jitter: Added to the diagonal for numerical safety (default 1e-10).

    Attributes:
        length_scale_: The length scale in use.
        noise_ratio_: The noise variance over the signal variance.
        amplitude_: The signal variance, in normalised target units.
        noise_: The observation-noise variance in target units.
        y_mean_, y_std_: The target normalisation, fixed at :meth:`fit`.
    """

    def __init__(self, *, length_scale: float | None = None, noise_ratio: float | None = None, jitter: float = 1e-10):
        self.length_scale = length_scale
        self.noise_ratio = noise_ratio
        self.jitter = jitter

    # ------------------------------------------------------------------ fitting
    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Normalise the targets, choose hyperparameters and factorise; returns self.

        Raises:
            ValueError: for no data, mismatched lengths or non-finite values.
        """
        X, y = np.atleast_2d(np.asarray(X, dtype=np.float64)), np.asarray(y, dtype=np.float64).ravel()
        if len(X) == 0 or len(X) != len(y):
            raise ValueError(f"need as many targets as inputs (and at least one), got {len(X)} and {len(y)}")
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise ValueError("inputs and targets must be finite")
        self.y_mean_ = float(y.mean())
        std = float(y.std())
        self.y_std_ = std if std > 1e-12 else 1.0
        self._X = X.copy()
        self._z = (y - self.y_mean_) / self.y_std_
        self._n = len(X)
        scale = median_distance(X)
        self._scale = scale
        length, ratio = self.length_scale, self.noise_ratio
        if (length is None or ratio is None) and self._n >= _MIN_POINTS_TO_OPTIMIZE:
            length, ratio = self._optimize(length, ratio)
        self.length_scale_ = float(scale if length is None else length)
        self.noise_ratio_ = float(_DEFAULT_NOISE_RATIO if ratio is None else ratio)
        gram = self._gram(self._X, self.length_scale_, self.noise_ratio_)
        self._L = np.linalg.cholesky(gram)
        self._alpha = cho_solve((self._L, True), self._z)
        self.amplitude_ = max(float(self._z @ self._alpha) / self._n, 1e-12) if self._n > 1 else 1.0
        return self

    def update(self, x: np.ndarray, y: float) -> GaussianProcess:
        """Add one observation by extending the Cholesky factor (hyperparameters unchanged); returns self."""
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        if not (np.isfinite(x).all() and math.isfinite(y)):
            raise ValueError("inputs and targets must be finite")
        k = squared_exponential(self._X, x, self.length_scale_)[:, 0]
        row = solve_triangular(self._L, k, lower=True, check_finite=False)
        diagonal = 1.0 + self.noise_ratio_ + self.jitter - row @ row
        n = self._n
        L = np.zeros((n + 1, n + 1))
        L[:n, :n] = self._L
        L[n, :n] = row
        L[n, n] = math.sqrt(max(diagonal, 1e-12))
        self._L = L
        self._X = np.vstack([self._X, x])
        self._z = np.append(self._z, (y - self.y_mean_) / self.y_std_)
        self._n = n + 1
        self._alpha = cho_solve((self._L, True), self._z, check_finite=False)
        return self

    def believe(self, X: np.ndarray) -> GaussianProcess:
        """A copy conditioned on ``X`` observed at the predicted mean (kriging believer).

        The posterior mean does not move; the variance near ``X`` shrinks, so
        points still being evaluated are not chosen again.
        """
        believer = copy.copy(self)
        for x in np.atleast_2d(np.asarray(X, dtype=np.float64)):
            believer.update(x, float(believer.predict(x[None, :])[0]))
        return believer

    # ------------------------------------------------------------------ predicting
    def predict(self, X: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Posterior mean (and standard deviation of the latent function) at ``X``, in target units."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        cross = squared_exponential(X, self._X, self.length_scale_)
        mean = cross @ self._alpha * self.y_std_ + self.y_mean_
        if not return_std:
            return mean
        v = solve_triangular(self._L, cross.T, lower=True, check_finite=False)
        variance = self.amplitude_ * np.maximum(1.0 - (v * v).sum(axis=0), 0.0)
        return mean, np.sqrt(variance) * self.y_std_

    # ------------------------------------------------------------------ likelihood
    def log_marginal_likelihood(self, length_scale: float | None = None, noise_ratio: float | None = None) -> float:
        """Log marginal likelihood of the normalised targets, with the amplitude at its optimum.

        Args:
            length_scale: Defaults to ``length_scale_``.
            noise_ratio: Defaults to ``noise_ratio_``.
        """
        length = self.length_scale_ if length_scale is None else length_scale
        ratio = self.noise_ratio_ if noise_ratio is None else noise_ratio
        return self._profile_lml(self._X, self._z, length, ratio)

    def _profile_lml(self, X: np.ndarray, z: np.ndarray, length: float, ratio: float) -> float:
        try:
            L = np.linalg.cholesky(self._gram(X, length, ratio))
        except np.linalg.LinAlgError:
            return -np.inf
        alpha = cho_solve((L, True), z, check_finite=False)
        n = len(z)
        amplitude = max(float(z @ alpha) / n, 1e-300)
        return float(-0.5 * n * (math.log(amplitude) + 1.0 + math.log(2 * math.pi)) - np.log(np.diag(L)).sum())

    def _optimize(self, length: float | None, ratio: float | None) -> tuple[float, float]:
        scale = self._scale
        lengths = [length] if length is not None else [scale * f for f in _LENGTH_FACTORS]
        ratios = [ratio] if ratio is not None else list(_NOISE_RATIOS)
        scored = [(self._profile_lml(self._X, self._z, l, r), l, r) for l in lengths for r in ratios]
        _, best_length, best_ratio = max(scored, key=lambda item: item[0])
        free = [length is None, ratio is None]
        start = np.log([best_length, best_ratio])[free]
        bounds = [(math.log(scale * _LENGTH_BOUNDS[0]), math.log(scale * _LENGTH_BOUNDS[1])), tuple(map(math.log, _NOISE_BOUNDS))]
        bounds = [b for b, keep in zip(bounds, free) if keep]

        def loss(theta: np.ndarray) -> float:
            values = iter(np.exp(theta))
            l = next(values) if free[0] else length
            r = next(values) if free[1] else ratio
            value = self._profile_lml(self._X, self._z, l, r)
            return -value if math.isfinite(value) else 1e300

        result = minimize(loss, start, method="L-BFGS-B", bounds=bounds, options={"maxiter": 50})
        if result.fun <= loss(start):
            values = iter(np.exp(result.x))
            best_length = next(values) if free[0] else length
            best_ratio = next(values) if free[1] else ratio
        return float(best_length), float(best_ratio)

    def _gram(self, X: np.ndarray, length: float, ratio: float) -> np.ndarray:
        gram = squared_exponential(X, X, length)
        gram[np.diag_indices_from(gram)] += ratio + self.jitter
        return gram

    # ------------------------------------------------------------------ inspection
    @property
    def n_observations(self) -> int:
        """Number of observations conditioned on."""
        return self._n

    @property
    def cholesky_(self) -> np.ndarray:
        """The lower Cholesky factor of ``k_ℓ(X, X) + (r + jitter) I`` (a copy)."""
        return self._L.copy()

    @property
    def noise_(self) -> float:
        """Observation-noise variance in target units."""
        return self.amplitude_ * self.noise_ratio_ * self.y_std_**2


def median_distance(X: np.ndarray) -> float:
    """Median distance between distinct rows of ``X`` (1.0 when there are none)."""
    if len(X) < 2:
        return 1.0
    sample = X[:300]
    squared = (sample * sample).sum(1)[:, None] + (sample * sample).sum(1)[None, :] - 2.0 * sample @ sample.T
    distances = np.sqrt(np.maximum(squared[np.triu_indices(len(sample), 1)], 0.0))
    distances = distances[distances > 1e-12]
    return float(np.median(distances)) if len(distances) else 1.0
