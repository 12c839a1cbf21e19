"""The generator's pull towards the categorical value frequencies (``marginal_weight``)."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame, attribute_networks

from dgkeras import DGSynthesizer
from dgkeras.columns import Output
from dgkeras.gan import DoppelGANger
from dgkeras.marginals import categorical_frequencies, marginal_divergence
from dgkeras.training import Trainer, TrainingConfig

OUTPUTS = [Output("colour", 3, "softmax"), Output("size", 1, "sigmoid"),
           Output("flag", 2, "softmax")]


def test_frequencies_are_value_shares_of_categorical_blocks_only():
    attributes = np.array([[1, 0, 0, 0.7, 0, 1],
                           [1, 0, 0, 0.1, 1, 0],
                           [0, 0, 1, 0.4, 0, 1],
                           [1, 0, 0, 0.2, 0, 1]], np.float32)
    np.testing.assert_allclose(categorical_frequencies(attributes, OUTPUTS),
                               [0.75, 0.0, 0.25, 0.0, 0.25, 0.75])
    assert categorical_frequencies(np.zeros((0, 6)), OUTPUTS).tolist() == [0.0] * 6


def test_divergence_is_zero_when_shares_match_and_the_kl_by_hand_otherwise():
    f = tf.constant([0.75, 0.0, 0.25, 0.0, 0.25, 0.75])
    # The continuous position (index 3) and the value absent from the data (index 1)
    # do not count, whatever is generated there.
    matching = tf.constant([0.75, 0.0, 0.25, 0.9, 0.25, 0.75])
    assert float(marginal_divergence(matching, f)) == pytest.approx(0.0, abs=1e-6)
    q = tf.constant([0.5, 0.25, 0.25, 0.1, 0.5, 0.5])
    by_hand = (0.75 * np.log(0.75 / 0.5) + 0.25 * np.log(0.25 / 0.25)
               + 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.5))
    assert float(marginal_divergence(q, f)) == pytest.approx(by_hand, rel=1e-5)


def test_gradient_on_a_dropped_value_does_not_fade():
    # A batch whose softmax gives the second value about 1e-13: the critic's
    # gradient reaches that logit multiplied by 1e-13; the divergence's is -f.
    logits = tf.Variable([[8.0, -22.0, 0.0], [9.0, -21.0, 1.0]])
    f = tf.constant([0.5, 0.3, 0.2])
    with tf.GradientTape(persistent=True) as tape:
        p = tf.nn.softmax(logits)
        divergence = marginal_divergence(tf.reduce_mean(p, axis=0), f)
        linear = tf.reduce_mean(p[:, 1])  # what a critic valuing the value would give
    dropped = tape.gradient(divergence, logits)[:, 1].numpy()
    assert float(tf.reduce_max(p[:, 1])) < 1e-12
    # Each row's share of -f: q = mean p, so the two rows' parts sum to -f.
    assert dropped.sum() == pytest.approx(-0.3, rel=1e-3)
    assert np.abs(tape.gradient(linear, logits)[:, 1].numpy()).max() < 1e-12


def _trainer(marginal_weight):
    data, config = attribute_networks(critic_units=(32,))
    model = DoppelGANger(config)
    trainer = Trainer(model, TrainingConfig(epochs=1, batch_size=30, critic_steps=1, seed=5,
                                            marginal_weight=marginal_weight), n_series=30)
    return trainer, data


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_a_dropped_value_is_pulled_back_only_with_the_term(weight):
    trainer, data = _trainer(weight)
    outputs = trainer.model.config.attribute_outputs
    assert outputs[0].activation == "softmax" and outputs[0].dim == 3  # region: e, n, s
    bias = trainer.model.attribute_generator.get_layer("attribute_out").bias
    bias.assign(tf.tensor_scatter_nd_update(bias, [[0]], [-30.0]))  # value "e" dropped
    before = bias.numpy()[0]
    noise = np.random.default_rng(0).normal(size=(100, 5)).astype(np.float32)
    assert trainer.model.attribute_generator(noise).numpy()[:, 0].max() < 1e-10
    trainer.fit(data.attributes, data.minmax, data.features)  # one step of 30 series
    moved = bias.numpy()[0] - before
    assert categorical_frequencies(data.attributes, outputs)[0] > 0.2
    if weight:
        # Adam's first step is learning_rate * sign(gradient): a full step up.
        assert moved == pytest.approx(1e-3, rel=0.05)
    else:
        # The critic's gradient, about 1e-13, is lost under Adam's epsilon.
        assert abs(moved) < 1e-5


def test_the_term_is_reported_in_the_generator_loss_and_changes_training():
    df, schema = attribute_frame()
    settings = dict(epochs=1, batch_size=30, random_state=0, **SMALL)
    plain = DGSynthesizer(**settings).fit(df, schema)
    pulled = DGSynthesizer(marginal_weight=5.0, **settings).fit(df, schema)
    # One step: the same critic update and generated batch, to which the
    # pulled generator's loss adds 5 * KL > 0.
    assert pulled.history_["generator_loss"].iloc[0] > plain.history_["generator_loss"].iloc[0]
    assert pulled.get_params()["marginal_weight"] == 5.0


@pytest.mark.parametrize("params", [dict(epsilon=5.0), dict(noise_multiplier=1.0)])
def test_the_term_is_refused_under_differential_privacy(params):
    df, schema = attribute_frame()
    with pytest.raises(ValueError, match=r"marginal_weight=1\.0 cannot be combined with "
                                         r"differential privacy .*without noise"):
        DGSynthesizer(marginal_weight=1.0, **params).fit(df, schema)
