"""LastGoodWeights: the end-of-epoch check for non-finite values and the kept weights."""

import pickle

import numpy as np

from dgkeras.health import LastGoodWeights


def _model(fitted_attributes):
    """A fresh copy of a fitted model, its weights free to change."""
    return pickle.loads(pickle.dumps(fitted_attributes[0])).model_


def test_a_healthy_epoch_is_kept_and_a_bad_one_named_and_restored(fitted_attributes):
    model = _model(fitted_attributes)
    guard = LastGoodWeights(model)
    kernel = model.feature_generator.weights[0]
    healthy = kernel.numpy() + 1.0
    kernel.assign(healthy)
    assert guard.check_and_keep({"loss": 0.5, "other": float("nan")}, ["loss"]) == []

    poisoned = healthy.copy()
    poisoned[0, 0] = np.inf
    kernel.assign(poisoned)
    assert guard.check_and_keep({"loss": float("nan")}, ["loss"]) == ["loss", "feature_generator"]
    guard.restore()
    np.testing.assert_array_equal(kernel.numpy(), healthy)


def test_a_non_finite_loss_alone_keeps_the_previous_weights(fitted_attributes):
    model = _model(fitted_attributes)
    guard = LastGoodWeights(model)
    bias = model.critic.weights[1]
    before = bias.numpy().copy()
    bias.assign(before + 3.0)
    assert guard.check_and_keep({"loss": float("inf")}, ["loss"]) == ["loss"]
    guard.restore()
    np.testing.assert_array_equal(bias.numpy(), before)
    guard.keep()  # unchecked copy of the current weights
    bias.assign(before + 5.0)
    guard.restore()
    np.testing.assert_array_equal(bias.numpy(), before)
