"""mixed_precision=True: float16 hidden layers, float32 variables and outputs, loss scaling."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame

from dgkeras import DGSynthesizer
from dgkeras.training import gradients_to_apply, make_adam, scaled_loss


@pytest.fixture(scope="module")
def mixed_fit():
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=3, batch_size=8, random_state=0, mixed_precision=True,
                          **SMALL).fit(df, schema)
    return synth, df, schema


def test_hidden_layers_compute_in_float16_and_everything_else_in_float32(mixed_fit):
    synth, _, _ = mixed_fit
    model = synth.model_
    assert model.feature_generator.get_layer("lstm_0").compute_dtype == "float16"
    assert model.critic.get_layer("critic_dense_0").compute_dtype == "float16"
    assert model.attribute_generator.get_layer("attribute_dense_0").compute_dtype == "float16"
    for net in [*model.generators, model.critic, model.aux_critic]:
        assert net.output.dtype == tf.float32, net.name
        # Keras 3's LSTM also holds an int64 seed state, which is not a weight.
        floats = {tf.as_dtype(v.dtype) for v in net.variables} - {tf.int64}
        assert floats == {tf.float32}, net.name


def test_mixed_fit_trains_and_samples_valid_data(mixed_fit):
    synth, df, schema = mixed_fit
    history = synth.history_[["critic_loss", "aux_critic_loss", "generator_loss"]]
    assert np.isfinite(history.to_numpy()).all() and len(history) == 3
    fake = synth.sample(40, random_state=1)
    assert fake["id"].nunique() == 40
    assert fake["usage"].between(df["usage"].min(), df["usage"].max()).all()
    assert set(fake["region"]) <= set(df["region"])


def test_mixed_model_survives_save_and_load(mixed_fit, tmp_path):
    synth, _, _ = mixed_fit
    synth.save(tmp_path / "mixed.dgk")
    again = DGSynthesizer.load(tmp_path / "mixed.dgk")
    assert again.model_.config.mixed_precision
    assert again.model_.feature_generator.get_layer("lstm_0").compute_dtype == "float16"
    pd.testing.assert_frame_equal(again.sample(20, random_state=4),
                                  synth.sample(20, random_state=4))


def test_loss_scaled_step_equals_the_float32_step():
    """Scaling the loss up, differentiating and applying moves the weights as a plain
    optimizer does on the unscaled loss (up to float16 rounding inside the network),
    under Keras 2 and Keras 3 alike. SGD, whose step is proportional to the gradient,
    shows a missing or doubled unscaling; Adam's first step would not."""
    x = tf.constant(np.random.default_rng(0).normal(size=(16, 4)), tf.float32)
    dense = tf.keras.layers.Dense(3, dtype="mixed_float16")
    dense.build((None, 4))
    variables = dense.trainable_variables
    start = [v.numpy() for v in variables]

    def step(optimizer):
        for v, value in zip(variables, start):
            v.assign(value)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(dense(x), tf.float32) ** 2)
            to_differentiate = scaled_loss(loss, optimizer)
        optimizer.apply_gradients(zip(gradients_to_apply(tape, to_differentiate, variables,
                                                         optimizer), variables))
        return float(loss), float(to_differentiate), [v.numpy() - s for v, s in
                                                      zip(variables, start)]

    scaled = tf.keras.mixed_precision.LossScaleOptimizer(tf.keras.optimizers.SGD(0.1))
    loss, differentiated, got = step(scaled)
    assert differentiated > 100 * loss  # the loss was scaled up
    _, plain_loss, expected = step(tf.keras.optimizers.SGD(0.1))
    assert plain_loss == pytest.approx(loss)
    for a, b in zip(got, expected):
        assert np.abs(b).max() > 1e-3
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-6)
    optimizer = make_adam(1e-3, 0.5, mixed_precision=True)
    assert isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    assert not isinstance(make_adam(1e-3, 0.5), tf.keras.mixed_precision.LossScaleOptimizer)


def test_mixed_precision_with_dp_is_refused():
    df, schema = attribute_frame()
    with pytest.raises(ValueError, match="mixed_precision=True cannot be combined with "
                                         "differential privacy"):
        DGSynthesizer(epochs=1, epsilon=1.0, mixed_precision=True, **SMALL).fit(df, schema)
    with pytest.raises(ValueError, match="mixed_precision must be True or False, got 'yes'"):
        DGSynthesizer(epochs=1, mixed_precision="yes", **SMALL).fit(df, schema)
