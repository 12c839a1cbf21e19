"""mixed_precision=True: float16 hidden layers, float32 variables and outputs, loss scaling."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame

from dgkeras import DGSynthesizer
from dgkeras.training import make_adam, scaled_loss, unscaled_gradients


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
        assert {v.dtype for v in net.variables} == {tf.float32}, net.name


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


def test_loss_scaling_gives_the_float32_gradient():
    """The scaled-then-unscaled gradient equals the plain one (up to float16 rounding
    inside the network), and a plain optimizer is left untouched."""
    x = tf.constant(np.random.default_rng(0).normal(size=(16, 4)), tf.float32)
    dense = tf.keras.layers.Dense(3, dtype="mixed_float16")
    dense.build((None, 4))
    optimizer = make_adam(1e-3, 0.5, mixed_precision=True)
    assert isinstance(optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_mean(tf.cast(dense(x), tf.float32) ** 2)
        scaled = scaled_loss(loss, optimizer)
    assert float(scaled) == pytest.approx(float(loss) * float(optimizer.loss_scale), rel=1e-6)
    got = unscaled_gradients(tape, scaled, dense.trainable_variables, optimizer)
    plain = tape.gradient(loss, dense.trainable_variables)
    for a, b in zip(got, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-6)
    assert not isinstance(make_adam(1e-3, 0.5), tf.keras.mixed_precision.LossScaleOptimizer)


def test_mixed_precision_with_dp_is_refused():
    df, schema = attribute_frame()
    with pytest.raises(ValueError, match="mixed_precision=True cannot be combined with "
                                         "differential privacy"):
        DGSynthesizer(epochs=1, epsilon=1.0, mixed_precision=True, **SMALL).fit(df, schema)
    with pytest.raises(ValueError, match="mixed_precision must be True or False, got 'yes'"):
        DGSynthesizer(epochs=1, mixed_precision="yes", **SMALL).fit(df, schema)
