"""LastGoodWeights: the end-of-epoch check for non-finite values and the kept weights."""

import numpy as np
import tensorflow as tf

from dgkeras.health import LastGoodWeights


def _networks():
    def mlp(name, seed):
        inputs = tf.keras.Input((3,))
        out = tf.keras.layers.Dense(
            2, kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed))(inputs)
        return tf.keras.Model(inputs, out, name=name)
    return {"critic": mlp("critic", 1), "generator": mlp("generator", 2)}


def test_a_healthy_epoch_is_kept_and_a_bad_one_named_and_restored():
    networks = _networks()
    guard = LastGoodWeights(networks)
    kernel = networks["generator"].weights[0]
    healthy = kernel.numpy() + 1.0
    kernel.assign(healthy)
    assert guard.check_and_keep({"loss": 0.5, "other": float("nan")}, ["loss"]) == []

    poisoned = healthy.copy()
    poisoned[0, 0] = np.inf
    kernel.assign(poisoned)
    assert guard.check_and_keep({"loss": float("nan")}, ["loss"]) == ["loss", "generator"]
    guard.restore()
    np.testing.assert_array_equal(kernel.numpy(), healthy)


def test_a_non_finite_loss_alone_keeps_the_previous_weights():
    networks = _networks()
    guard = LastGoodWeights(networks)
    bias = networks["critic"].weights[1]
    before = bias.numpy().copy()
    bias.assign(before + 3.0)
    assert guard.check_and_keep({"loss": float("inf")}, ["loss"]) == ["loss"]
    guard.restore()
    np.testing.assert_array_equal(bias.numpy(), before)
    guard.keep()  # unchecked copy of the current weights
    bias.assign(before + 5.0)
    guard.restore()
    np.testing.assert_array_equal(bias.numpy(), before)
