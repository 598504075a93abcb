"""keras-tuner interop: MorphismOracle and MorphismHyperModel inside a stock keras_tuner.Tuner."""

import keras
import keras_tuner
import numpy as np
import pytest

from autonas.graph import generators
from autonas.integrations import MorphismHyperModel, MorphismOracle
from autonas.search import BayesianSearcher, RandomSearcher

SHAPE = (8, 8, 1)
TRIALS = 4

pytestmark = [
    pytest.mark.slow,  # trains networks
    # keras-tuner's checkpoints hold optimizer variables that freshly built models do not have yet
    pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer"),
]


class _Recording:
    """Mixin for a searcher that remembers what it was told."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.told = []

    def tell(self, trial_id, graph, accuracy):
        self.told.append((trial_id, graph.fingerprint(), graph.has_weights, accuracy))
        super().tell(trial_id, graph, accuracy)


class RecordingSearcher(_Recording, BayesianSearcher):
    pass


class RecordingRandomSearcher(_Recording, RandomSearcher):
    pass


@pytest.fixture(scope="module")
def data(digits):
    x_train, x_test, y_train, y_test = digits
    return (x_train[:600], y_train[:600]), (x_train[900:], y_train[900:]), (x_test, y_test)


@pytest.fixture(scope="module")
def searched(data, tmp_path_factory):
    """A 4-trial search on digits: the plain CNN, then three morphed children."""
    keras.utils.set_random_seed(0)
    (x, y), validation, _ = data
    searcher = RecordingSearcher(seed=0)
    oracle = MorphismOracle(["cnn"], input_shape=SHAPE, num_classes=10, searcher=searcher, max_trials=TRIALS, seed=0)
    tuner = keras_tuner.Tuner(
        oracle=oracle,
        hypermodel=MorphismHyperModel(oracle, fine_tune_epochs=2),
        directory=str(tmp_path_factory.mktemp("keras_tuner")),
        project_name="morph",
        overwrite=True,
    )
    tuner.search(x, y, validation_data=validation, epochs=5, batch_size=32, verbose=0)
    return tuner, oracle, searcher


def _children(oracle):
    return [t for t in oracle.trials.values() if t.hyperparameters.values["parent"]]


def test_stock_tuner_runs_initial_then_morphed_children(searched):
    tuner, oracle, searcher = searched
    trials = [oracle.get_trial(i) for i in sorted(oracle.trials)]
    assert len(trials) == TRIALS
    assert all(t.status == "COMPLETED" for t in trials), [(t.trial_id, t.status, t.message) for t in trials]
    first = trials[0].hyperparameters.values
    assert first["parent"] == "" and first["operations"] == "initial: cnn"
    children = _children(oracle)
    assert len(children) == TRIALS - 1
    fingerprints = {oracle.architecture(t.trial_id).fingerprint() for t in trials}
    assert len(fingerprints) == TRIALS  # never the same architecture twice
    for child in children:
        values = child.hyperparameters.values
        parent, operations = oracle.lineage(child.trial_id)
        assert parent == values["parent"] and parent in oracle.trials and parent < child.trial_id
        assert operations and values["operations"] == ", ".join(str(op) for op in operations)
        assert oracle.architecture(child.trial_id).fingerprint() != oracle.architecture(parent).fingerprint()
    # every trial told once, in order, with its trained weights and keras-tuner's score
    assert [entry[0] for entry in searcher.told] == [t.trial_id for t in trials]
    for (trial_id, fingerprint, has_weights, accuracy), trial in zip(searcher.told, trials):
        assert fingerprint == oracle.architecture(trial_id).fingerprint()
        assert has_weights and accuracy == pytest.approx(trial.score)


def test_child_starts_from_its_parents_trained_function(searched, data):
    tuner, oracle, _ = searched
    _, (x_val, _), _ = data
    child = _children(oracle)[0]
    parent_id = child.hyperparameters.values["parent"]
    parent_model = tuner.load_model(oracle.get_trial(parent_id))  # keras-tuner's best-epoch checkpoint
    parent_out = parent_model.predict(x_val, verbose=0)
    # the weights handed back to the oracle are those of the checkpointed (scored) epoch
    handed_back = oracle.trained_graph(parent_id).to_keras().predict(x_val, verbose=0)
    np.testing.assert_allclose(handed_back, parent_out, atol=1e-6)
    child_model = tuner.hypermodel.build(child.hyperparameters)
    child_out = child_model.predict(x_val, verbose=0)
    assert np.max(np.abs(child_out - parent_out)) < 1e-4
    assert (len(child_model.layers), child_model.count_params()) != (len(parent_model.layers), parent_model.count_params())
    # after the search, retraining a trial's model does not replace what its children inherited
    kept = oracle.trained_graph(child.trial_id)
    oracle.record_trained(child.trial_id, child_model)
    assert oracle.trained_graph(child.trial_id) is kept


def test_best_model_is_accurate(searched, data):
    tuner, oracle, _ = searched
    _, (x_val, y_val), (x_test, y_test) = data
    best_trial = oracle.get_best_trials(1)[0]
    assert best_trial.score == max(t.score for t in oracle.trials.values())
    best = tuner.get_best_models(1)[0]
    _, val_accuracy = best.evaluate(x_val, y_val, verbose=0)
    assert val_accuracy == pytest.approx(best_trial.score, abs=1e-4)
    _, test_accuracy = best.evaluate(x_test, y_test, verbose=0)
    assert test_accuracy > 0.85, test_accuracy
    graph = oracle.best_graph()
    assert graph.fingerprint() == oracle.architecture(best_trial.trial_id).fingerprint()


class ScriptedScores(keras.callbacks.Callback):
    """Reports scripted validation accuracies and remembers each epoch's weights."""

    def __init__(self, scores):
        super().__init__()
        self.scores, self.weights = scores, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = self.scores[epoch]
        self.weights.append(self.model.get_weights())


def test_fit_keeps_the_weights_of_the_scored_epoch(data):
    (x, y), _, _ = data
    oracle = MorphismOracle("mlp", input_shape=SHAPE, num_classes=10)
    hypermodel = MorphismHyperModel(oracle)
    hp = keras_tuner.HyperParameters()  # no architecture value: the first initial architecture
    model = hypermodel.build(hp)
    scores = ScriptedScores([0.5, 0.9, 0.7])
    hypermodel.fit(hp, model, x[:64], y[:64], epochs=3, callbacks=[scores], verbose=0)
    best, last = scores.weights[1], scores.weights[2]
    assert not all(np.array_equal(a, b) for a, b in zip(best, last))
    for got, want in zip(model.get_weights(), best):
        np.testing.assert_array_equal(got, want)


def test_fit_traces_the_training_step_once(data, monkeypatch):
    """Without building first, Keras's TensorFlow trainer made variables while tracing and traced twice."""
    if keras.backend.backend() == "torch":
        pytest.skip("PyTorch's trainer runs the step eagerly: nothing is traced")
    (x, y), _, _ = data
    traces = []
    train_step = keras.Model.train_step

    def counted(self, *args, **kwargs):  # Python runs here only while the step is traced (TF, JAX)
        traces.append(1)
        return train_step(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    oracle = MorphismOracle("cnn", input_shape=SHAPE, num_classes=10)
    hypermodel = MorphismHyperModel(oracle)
    hp = keras_tuner.HyperParameters()
    hypermodel.fit(hp, hypermodel.build(hp), x=x[:128], y=y[:128], epochs=2, batch_size=32, verbose=0)
    assert len(traces) == 1


class FailingChild(MorphismHyperModel):
    """Trial "1" crashes while training."""

    def fit(self, hp, model, *args, **kwargs):
        if hp.values["architecture"] == "1":
            raise RuntimeError("boom")
        return super().fit(hp, model, *args, **kwargs)


def test_failed_trial_is_told_as_failed_and_a_reloaded_project_resumes(data, tmp_path):
    (x, y), (x_val, y_val), _ = data
    x, y, x_val = x[:300], y[:300], x_val[:100]
    initial = generators.cnn(SHAPE, 10, filters=8)

    def tuner_for(hypermodel_class, max_trials, overwrite):
        searcher = RecordingRandomSearcher(seed=1)
        oracle = MorphismOracle(initial, searcher=searcher, max_trials=max_trials)
        tuner = keras_tuner.Tuner(
            oracle=oracle,
            hypermodel=hypermodel_class(oracle),
            directory=str(tmp_path),
            project_name="resume",
            overwrite=overwrite,
        )
        return tuner, oracle, searcher

    tuner, oracle, searcher = tuner_for(FailingChild, 2, overwrite=True)
    tuner.search(x, y, validation_data=(x_val, y_val[:100]), epochs=2, verbose=0)
    assert [oracle.get_trial(i).status for i in ("0", "1")] == ["COMPLETED", "FAILED"]
    told = [(trial_id, accuracy is None) for trial_id, _, _, accuracy in searcher.told]
    assert told == [("0", False), ("1", True)]
    assert oracle.trained_graph("1") is None
    failed = oracle.architecture("1").fingerprint()
    before = oracle.trained_graph("0").to_keras().predict(x_val, verbose=0)

    # a new oracle and tuner on the same project (as a new process would make them) reload it
    tuner, oracle, searcher = tuner_for(MorphismHyperModel, 3, overwrite=False)
    assert sorted(oracle.trials) == ["0", "1"]
    assert [(trial_id, accuracy is None) for trial_id, _, _, accuracy in searcher.told] == told  # replayed
    reloaded = oracle.trained_graph("0").to_keras().predict(x_val, verbose=0)  # weights from the trial folder
    np.testing.assert_allclose(reloaded, before, atol=1e-6)
    tuner.search(x, y, validation_data=(x_val, y_val[:100]), epochs=2, verbose=0)
    assert sorted(oracle.trials) == ["0", "1", "2"]
    new = oracle.get_trial("2")
    assert new.status == "COMPLETED" and new.hyperparameters.values["parent"] == "0"
    assert oracle.architecture("2").fingerprint() not in (failed, initial.fingerprint())
    child_out = tuner.hypermodel.build(new.hyperparameters).predict(x_val, verbose=0)
    assert np.max(np.abs(child_out - before)) < 1e-4


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "input_shape"),
        ({"input_shape": SHAPE}, "num_classes"),
        ({"initial": [], "input_shape": SHAPE, "num_classes": 10}, "initial"),
        ({"initial": ["vgg"], "input_shape": SHAPE, "num_classes": 10}, "initial"),
        ({"initial": [42], "input_shape": SHAPE, "num_classes": 10}, "initial"),
        ({"initial": ["cnn", "cnn"], "input_shape": SHAPE, "num_classes": 10}, "initial"),
        ({"input_shape": SHAPE, "num_classes": 10, "searcher": "grid"}, "searcher"),
        ({"input_shape": SHAPE, "num_classes": 10, "searcher": object()}, "searcher"),
        ({"input_shape": SHAPE, "num_classes": 10, "max_trials": 0}, "max_trials"),
        ({"input_shape": SHAPE, "num_classes": 10, "max_trials": 2.5}, "max_trials"),
        ({"input_shape": SHAPE, "num_classes": 10, "seed": "x"}, "seed"),
        ({"input_shape": SHAPE, "num_classes": 10, "max_params": 0}, "max_params"),
        ({"input_shape": SHAPE, "num_classes": 10, "max_params": 10}, "meets the limits"),
        ({"initial": generators.cnn(SHAPE, 10), "max_params": 1_000}, "breaks the limits"),
    ],
)
def test_bad_oracle_arguments_raise(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        MorphismOracle(**kwargs)


def test_bad_hypermodel_arguments_raise():
    oracle = MorphismOracle("cnn", input_shape=SHAPE, num_classes=10)
    with pytest.raises(ValueError, match="oracle"):
        MorphismHyperModel(keras_tuner.oracles.RandomSearchOracle())
    with pytest.raises(ValueError, match="learning_rate"):
        MorphismHyperModel(oracle, learning_rate=0)
    with pytest.raises(ValueError, match="fine_tune_learning_rate"):
        MorphismHyperModel(oracle, fine_tune_learning_rate=-1e-4)
    with pytest.raises(ValueError, match="fine_tune_epochs"):
        MorphismHyperModel(oracle, fine_tune_epochs=0)
    with pytest.raises(ValueError, match="unknown architecture key"):
        oracle.record_trained("nope", None)


def test_without_initial_the_oracle_starts_where_the_classifier_does():
    """One list of initial architectures for every search: the oracle's default is the estimator's."""
    from autonas.engine.spec import initial_architectures

    oracle = MorphismOracle(input_shape=(28, 28, 1), num_classes=10)
    expected = initial_architectures((28, 28, 1), 10)
    assert [name for name, _ in oracle.initial_architectures] == [name for name, _ in expected] == ["cnn", "resnet"]
    assert [g.fingerprint() for _, g in oracle.initial_architectures] == [g.fingerprint() for _, g in expected]


def test_initial_accepts_graphs_and_keras_models():
    graph = generators.cnn(SHAPE, 10, filters=8)
    oracle = MorphismOracle({"mine": graph.to_keras(), "mlp": "mlp"}, input_shape=SHAPE, num_classes=10)
    names = [name for name, _ in oracle.initial_architectures]
    assert names == ["mine", "mlp"]
    assert oracle.initial_architectures[0][1].fingerprint() == graph.fingerprint()


def _classifier_spec(**limits):
    """The SearchSpec an AutoImageClassifier with ``limits`` builds (as its fit does)."""
    from autonas import AutoImageClassifier

    classifier = AutoImageClassifier(seed=0, **limits)
    classifier.objective_ = classifier._make_objective()
    return classifier._spec()


@pytest.mark.parametrize("limits", [{}, {"max_params": 6_500}])
def test_the_oracle_proposes_the_classifier_s_edit_kinds_under_the_classifier_s_constraint(limits):
    """One spec for both searches: a searcher named to the oracle is the one the classifier builds for the
    same limits (the same edit kinds, the same constraint), and so are the initial architectures."""
    from autonas.morphism import GROWING, REGULARISING

    oracle = MorphismOracle(input_shape=SHAPE, num_classes=10, searcher="bayesian", seed=0, **limits)
    spec = _classifier_spec(**limits)
    classifier_searcher = spec.make_searcher(spec.constraint())
    assert oracle.searcher.kinds == classifier_searcher.kinds
    assert oracle.searcher.kinds == (None if limits else GROWING | REGULARISING)  # shrinking only under a limit
    small = generators.cnn(SHAPE, 10, filters=4, max_filters=8, hidden_units=0)
    large = generators.cnn(SHAPE, 10, filters=16, max_filters=64, hidden_units=64)
    assert small.num_params() <= 6_500 < large.num_params()
    for graph in (small, large):
        refused = not spec.constraint()(graph)
        assert refused == (bool(limits) and graph is large)
        assert (not oracle.searcher.constraint(graph)) == (not classifier_searcher.constraint(graph)) == refused
    expected = spec.initial_graphs(SHAPE, 10)
    assert [g.fingerprint() for _, g in oracle.initial_architectures] == [g.fingerprint() for _, g in expected]


def test_the_hypermodel_takes_its_default_rate_from_the_recipe():
    from autonas.engine.recipe import Recipe
    from autonas.integrations.keras_tuner import FINE_TUNE_FACTOR

    hypermodel = MorphismHyperModel(MorphismOracle("cnn", input_shape=SHAPE, num_classes=10))
    assert hypermodel.learning_rate == Recipe().constant_learning_rate
    assert hypermodel.fine_tune_learning_rate == pytest.approx(Recipe().constant_learning_rate * FINE_TUNE_FACTOR)
