"""The generator's pull towards the categorical value frequencies (``marginal_weight``)."""

import pickle

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame, attribute_networks

from dgkeras import DGSynthesizer
from dgkeras.gan import DoppelGANger
from dgkeras.marginals import categorical_frequencies, frequency_target, marginal_divergence
from dgkeras.outputs import Output
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
    np.testing.assert_allclose(frequency_target(attributes, OUTPUTS).numpy(),
                               [0.75, 0.0, 0.25, 0.0, 0.25, 0.75])
    # Nothing categorical: nothing to pull towards.
    assert frequency_target(attributes[:, 3:4], [Output("size", 1, "sigmoid")]) is None


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


def _drop_value(attribute_generator, index):
    """Set the attribute logit at ``index`` to -30 (probability about 1e-13): the
    generator no longer produces that value. Returns the output layer's bias."""
    bias = attribute_generator.get_layer("attribute_out").bias
    bias.assign(tf.tensor_scatter_nd_update(bias, [[index]], [-30.0]))
    return bias


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
    bias = _drop_value(trainer.model.attribute_generator, 0)  # value "e"
    before = bias.numpy()[0]
    noise = np.random.default_rng(0).normal(size=(100, 5)).astype(np.float32)
    assert trainer.model.attribute_generator(noise).numpy()[:, 0].max() < 1e-10
    trainer.fit(data.attributes, data.minmax, data.features)  # one step of 30 series
    moved = bias.numpy()[0] - before
    # The value is in the data: 6 of 30 series, 0.2 as float32.
    assert categorical_frequencies(data.attributes, outputs)[0] >= np.float32(0.2)
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


@pytest.fixture(scope="module")
def one_step_fits():
    """Pickled one-step fits without and with the term, keyed by marginal_weight."""
    df, schema = attribute_frame()
    return {weight: pickle.dumps(DGSynthesizer(epochs=1, batch_size=30, random_state=0,
                                               marginal_weight=weight, **SMALL).fit(df, schema))
            for weight in (0.0, 1.0)}


def _with_a_dropped_value(fits, marginal_weight=0.0):
    """A copy of a one-step fit whose attribute generator never says region "e"."""
    synth = pickle.loads(fits[marginal_weight])
    e = synth.encoder_.attribute_columns_[0].categories.index("e")
    bias = _drop_value(synth.model_.attribute_generator, e)
    assert "e" not in set(synth.sample(500, random_state=0)["region"])
    return synth, bias, e


@pytest.mark.parametrize("fit_params, refit_weight, pulled", [
    (dict(), None, False),
    (dict(), 1.0, True),
    (dict(), "auto", True),                    # region is categorical: 1.0
    (dict(marginal_weight=1.0), None, True),   # the estimator's weight by default
    (dict(marginal_weight=1.0), 0.0, False),
])
def test_refit_attributes_pulls_a_dropped_value_back_only_with_the_term(one_step_fits, fit_params,
                                                                        refit_weight, pulled):
    synth, bias, e = _with_a_dropped_value(one_step_fits, **fit_params)
    df, _ = attribute_frame()
    before = bias.numpy()[e]
    # The 30 training rows again, some of them "e": one generator step of batch 30.
    synth.refit_attributes(df, epochs=1, random_state=0, marginal_weight=refit_weight)
    moved = bias.numpy()[e] - before
    if pulled:
        assert moved == pytest.approx(1e-3, rel=0.05)  # Adam's full first step
    else:
        assert abs(moved) < 1e-5


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_refit_attributes_restores_the_shares_only_with_the_term(one_step_fits, weight):
    synth, _, _ = _with_a_dropped_value(one_step_fits)
    df, _ = attribute_frame()
    real = df.groupby("id")["region"].first().value_counts(normalize=True)
    assert real["e"] == pytest.approx(0.2)
    synth.refit_attributes(df, epochs=400, random_state=0, marginal_weight=weight)
    shares = (synth.sample(2000, random_state=1).groupby("id")["region"].first()
              .value_counts(normalize=True).reindex(real.index, fill_value=0.0))
    if weight:
        # Measured on refit seeds 0 to 3: every share within 0.02 of the data's.
        np.testing.assert_allclose(shares, real, atol=0.06)
    else:
        assert shares["e"] == 0.0


@pytest.mark.parametrize("estimator_weight, refit_weight", [(0.0, 1.0), ("auto", None)])
def test_refit_attributes_allows_the_term_for_a_model_trained_with_dp(one_step_fits,
                                                                      estimator_weight,
                                                                      refit_weight):
    # The refit rows are used without DP, so their shares may be used too, and
    # "auto" chooses as for a fit without DP.
    synth, bias, e = _with_a_dropped_value(one_step_fits)
    df, _ = attribute_frame()
    synth.set_params(epsilon=1.0, marginal_weight=estimator_weight)
    before = bias.numpy()[e]
    synth.refit_attributes(df, epochs=1, random_state=0, marginal_weight=refit_weight)
    assert bias.numpy()[e] - before == pytest.approx(1e-3, rel=0.05)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), "1"])
def test_refit_attributes_refuses_a_bad_marginal_weight(one_step_fits, weight):
    synth = pickle.loads(one_step_fits[0.0])
    df, _ = attribute_frame()
    with pytest.raises(ValueError,
                       match=r"marginal_weight must be a non-negative number or 'auto', got"):
        synth.refit_attributes(df, epochs=1, marginal_weight=weight)
