"""The embedded edit-distance kernel and the Gaussian process."""

import numpy as np
import pytest

from autonas.search import BayesianSearcher, BourgainEmbedding, GaussianProcess, LandmarkEmbedding, pairwise_distances
from autonas.search import squared_exponential
from tests.search.conftest import deceptive_objective


@pytest.mark.parametrize("embedding", ["landmarks", "bourgain"])
def test_kernel_matrix_is_positive_semi_definite_before_any_trial(graphs, embedding):
    kernel = BayesianSearcher(seed=0, embedding=embedding).kernel_matrix(graphs)
    assert kernel.shape == (40, 40)
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(kernel), 1.0)
    assert np.linalg.eigvalsh(kernel).min() >= -1e-8


@pytest.mark.parametrize("embedding", ["landmarks", "bourgain"])
def test_kernel_matrix_is_positive_semi_definite_with_a_fitted_process(graphs, embedding):
    searcher = BayesianSearcher(seed=0, embedding=embedding)
    for i, graph in enumerate(graphs[:20]):
        searcher.tell(f"t{i}", graph, deceptive_objective(graph))
    kernel = searcher.kernel_matrix(graphs)  # 20 told, 20 never seen
    assert np.linalg.eigvalsh(kernel).min() >= -1e-8
    # a plain exp(-d^2) on the raw distance is not guaranteed to be: the embedding is what makes it so
    assert kernel[0, 0] == pytest.approx(1.0)


def test_embeddings_never_stretch_distances(graphs):
    distances = pairwise_distances(graphs, graphs)
    for embedding in (LandmarkEmbedding(), BourgainEmbedding(np.random.default_rng(0))):
        coordinates = embedding.fit(len(graphs)).transform(distances)
        embedded = np.linalg.norm(coordinates[:, None] - coordinates[None], axis=-1)
        assert np.all(embedded <= distances + 1e-9)


def test_embedding_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="reference point"):
        LandmarkEmbedding().fit(0)
    with pytest.raises(ValueError, match="shape"):
        LandmarkEmbedding().fit(3).transform(np.zeros((2, 4)))


def _data(n, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    y = np.sin(X[:, 0]) + 0.5 * np.cos(2 * X[:, 1]) + noise * rng.normal(size=n)
    return X, y


def test_incremental_updates_equal_a_full_factorisation():
    X, y = _data(30)
    gp = GaussianProcess().fit(X[:10], y[:10])
    for x, target in zip(X[10:], y[10:]):
        gp.update(x, target)
    assert gp.n_observations == 30
    # the same hyperparameters and normalisation, solved directly
    length, ratio = gp.length_scale_, gp.noise_ratio_
    gram = squared_exponential(X, X, length) + (ratio + gp.jitter) * np.eye(30)
    np.testing.assert_allclose(gp.cholesky_, np.linalg.cholesky(gram), atol=1e-8)
    X_new = np.random.default_rng(1).uniform(-3, 3, size=(7, 2))
    cross = squared_exponential(X_new, X, length)
    z = (y - gp.y_mean_) / gp.y_std_
    expected_mean = cross @ np.linalg.solve(gram, z) * gp.y_std_ + gp.y_mean_
    expected_var = gp.amplitude_ * (1.0 - np.einsum("ij,ji->i", cross, np.linalg.solve(gram, cross.T)))
    mean, std = gp.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean, expected_mean, atol=1e-7)
    np.testing.assert_allclose(std, np.sqrt(np.maximum(expected_var, 0)) * gp.y_std_, atol=1e-6)


def test_process_learns_a_smooth_function():
    X, y = _data(60)
    X_test, y_test = _data(200, seed=5)
    gp = GaussianProcess().fit(X, y)
    rmse = float(np.sqrt(np.mean((gp.predict(X_test) - y_test) ** 2)))
    assert rmse < 0.15 * float(y_test.std())
    _, std_seen = gp.predict(X[:5], return_std=True)
    _, std_far = gp.predict(np.full((1, 2), 30.0), return_std=True)
    assert std_seen.max() < 0.1 * std_far[0]


def test_marginal_likelihood_fits_the_noise():
    X, y = _data(80, noise=0.0)
    _, y_noisy = _data(80, noise=0.3)
    clean = GaussianProcess().fit(X, y)
    noisy = GaussianProcess().fit(X, y_noisy)
    assert noisy.noise_ > 10 * clean.noise_
    assert noisy.noise_ == pytest.approx(0.09, rel=0.6)  # true noise variance 0.3²
    # the fitted hyperparameters beat nearby ones
    best = noisy.log_marginal_likelihood()
    for factor in (0.5, 2.0):
        assert best >= noisy.log_marginal_likelihood(length_scale=noisy.length_scale_ * factor)
        assert best >= noisy.log_marginal_likelihood(noise_ratio=noisy.noise_ratio_ * factor)


def test_believer_keeps_the_mean_and_shrinks_the_variance():
    X, y = _data(20)
    gp = GaussianProcess().fit(X, y)
    pending = np.array([[2.5, -2.5]])
    believer = gp.believe(pending)
    mean, std = gp.predict(pending, return_std=True)
    mean_b, std_b = believer.predict(pending, return_std=True)
    assert mean_b[0] == pytest.approx(mean[0], abs=1e-6)
    assert std_b[0] < 0.5 * std[0]
    assert gp.n_observations == 20  # the original is untouched


def test_process_rejects_bad_data():
    with pytest.raises(ValueError, match="targets"):
        GaussianProcess().fit(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        GaussianProcess().fit(np.zeros((2, 2)), np.array([0.0, np.nan]))
