"""DP-SGD: clipping, noise scale and sources, equivalence with the plain step, accounting,
reproducibility, refusals, MIA."""

import logging
import math
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame

from dgkeras import DataError, DGSynthesizer
from dgkeras.dp_noise import add_gaussian_noise, resolve_noise_source, tf_privacy_available
from dgkeras.encoding import Encoder
from dgkeras.gan import DoppelGANger, NetworkConfig
from dgkeras.privacy import (
    DPSettings,
    compute_epsilon,
    compute_noise_multiplier,
    dp_sum_of_clipped_gradients,
    membership_inference,
    resolve_dp_settings,
)
from dgkeras.training import Trainer, TrainingConfig

#: TensorFlow Privacy imports only on the tf-privacy stack (TensorFlow 2.15),
#: where .ci/run runs these tests again.
needs_tf_privacy = pytest.mark.skipif(not tf_privacy_available(),
                                      reason="TensorFlow Privacy does not import on this stack")
SOURCES = ["dgkeras", pytest.param("tf-privacy", marks=needs_tf_privacy)]


def _settings(noise_multiplier, clip, expected_batch, source="dgkeras"):
    return DPSettings(noise_multiplier, clip, 0.1, float(expected_batch), 10, 1, 1e-5,
                      noise_source=source)


def _seed(k):
    return tf.constant([7, k], tf.int64)


def test_per_example_gradients_are_clipped_jointly():
    w = tf.Variable([0.5, -1.0, 2.0])
    b = tf.Variable(0.3)
    x = tf.constant([[3.0, 4.0, 0.0], [0.1, 0.0, 0.2], [-6.0, 0.0, 8.0], [0.0, 0.0, 0.0]])

    def loss(example):
        return tf.reduce_sum(w * example) + b

    grads = dp_sum_of_clipped_gradients(loss, (x,), [w, b], _settings(0.0, 1.5, 4),
                                        seed=_seed(0))
    # Hand computation: the per-example gradient is (x_i, 1), norm sqrt(|x_i|^2 + 1).
    norms = np.sqrt((x.numpy() ** 2).sum(1) + 1)
    factors = np.minimum(1.0, 1.5 / norms)
    np.testing.assert_allclose(grads[0].numpy(), (x.numpy() * factors[:, None]).sum(0) / 4,
                               rtol=1e-5)
    np.testing.assert_allclose(grads[1].numpy(), factors.sum() / 4, rtol=1e-5)
    assert factors[0] < 1 and factors[1] == 1  # one example clipped, one not


@pytest.mark.parametrize("source", SOURCES)
def test_noise_has_the_expected_scale_and_empty_batches_are_noise_only(source):
    w = tf.Variable(tf.zeros(40_000))

    def loss(example):
        return 0.0 * tf.reduce_sum(w * example)

    settings = _settings(2.0, 0.5, 10, source)
    grads = dp_sum_of_clipped_gradients(loss, (tf.ones((3, 40_000)),), [w], settings,
                                        seed=_seed(0))
    assert np.std(grads[0].numpy()) == pytest.approx(2.0 * 0.5 / 10, rel=0.03)
    empty = dp_sum_of_clipped_gradients(loss, (tf.zeros((0, 40_000)),), [w], settings,
                                        seed=_seed(1))
    assert np.std(empty[0].numpy()) == pytest.approx(0.1, rel=0.03)
    # Split over 4 replicas (each with its own seed), each adds half the standard
    # deviation: the four shares, summed by the all-reduce, carry one draw of the full scale.
    shares = [dp_sum_of_clipped_gradients(loss, (tf.ones((1, 40_000)),), [w], settings,
                                          noise_shares=4, seed=_seed(2 + r))[0].numpy()
              for r in range(4)]
    assert np.std(shares[0]) == pytest.approx(0.1 / 2, rel=0.03)
    assert np.std(np.sum(shares, axis=0)) == pytest.approx(0.1, rel=0.03)


def _noise_std(source, n=100_000, stddev=0.7):
    zeros = [tf.zeros(n // 2), tf.zeros((n // 4, 2))]
    noised = add_gaussian_noise(zeros, stddev, source, seed=_seed(3))
    return float(np.std(np.concatenate([t.numpy().ravel() for t in noised])))


@pytest.mark.parametrize("source", SOURCES)
def test_each_noise_source_draws_the_stated_scale(source):
    assert _noise_std(source) == pytest.approx(0.7, rel=0.01)


@needs_tf_privacy
def test_both_noise_sources_give_the_same_scale_and_the_same_accounting():
    assert _noise_std("dgkeras") == pytest.approx(_noise_std("tf-privacy"), rel=0.01)
    df, schema = attribute_frame(n_series=40, length=4)
    fits = [DGSynthesizer(epochs=2, batch_size=10, epsilon=2.0, dp_noise_source=source,
                          random_state=0, **SMALL).fit(df, schema)
            for source in ("dgkeras", "tf-privacy")]
    assert [f.dp_settings_.noise_source for f in fits] == ["dgkeras", "tf-privacy"]
    assert fits[0].noise_multiplier_ == fits[1].noise_multiplier_
    assert fits[0].epsilon_ == fits[1].epsilon_


def test_seeded_noise_depends_on_the_seed_alone():
    def draw(k):
        return add_gaussian_noise([tf.zeros(1000)], 1.0, "dgkeras", seed=_seed(k))[0].numpy()

    np.testing.assert_array_equal(draw(4), draw(4))
    assert np.corrcoef(draw(4), draw(5))[0, 1] < 0.1
    # Each tensor of one call draws its own stream.
    a, b = add_gaussian_noise([tf.zeros(1000), tf.zeros(1000)], 1.0, "dgkeras", seed=_seed(4))
    assert np.corrcoef(a.numpy(), b.numpy())[0, 1] < 0.1
    with pytest.raises(ValueError, match="pass seed"):
        add_gaussian_noise([tf.zeros(3)], 1.0, "dgkeras")


def _weights(synth):
    return [w for ws in synth.model_.get_weights().values() for w in ws]


def test_dp_fit_is_reproduced_bit_for_bit_from_its_seed():
    df, schema = attribute_frame(n_series=40, length=4)

    def fit(random_state):
        return DGSynthesizer(epochs=3, batch_size=10, noise_multiplier=1.0,
                             dp_noise_source="dgkeras", random_state=random_state,
                             **SMALL).fit(df, schema)

    first, second, other = fit(0), fit(0), fit(1)
    assert first.dp_settings_.noise_source == "dgkeras"
    pd.testing.assert_series_equal(first.history_["generator_loss"],
                                   second.history_["generator_loss"], check_exact=True)
    for a, b in zip(_weights(first), _weights(second)):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(first.sample(30, random_state=2),
                                  second.sample(30, random_state=2), check_exact=True)
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(first), _weights(other)))


@needs_tf_privacy
def test_tf_privacy_noise_is_not_reproducible():
    # Why the seeded source exists: the same seed, two different fits.
    df, schema = attribute_frame(n_series=40, length=4)
    fits = [DGSynthesizer(epochs=2, batch_size=10, noise_multiplier=1.0,
                          dp_noise_source="tf-privacy", random_state=0, **SMALL).fit(df, schema)
            for _ in range(2)]
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(fits[0]), _weights(fits[1])))


def test_auto_noise_source_is_tf_privacy_exactly_where_it_imports():
    assert resolve_noise_source("auto") == ("tf-privacy" if tf_privacy_available() else "dgkeras")
    assert resolve_noise_source("dgkeras") == "dgkeras"
    if not tf_privacy_available():
        with pytest.raises(ValueError, match=r'pip install "dgkeras\[tf-privacy\]"'):
            resolve_noise_source("tf-privacy")


def _trainer(data, encoder, dp):
    config = NetworkConfig(encoder.attribute_outputs, encoder.minmax_outputs,
                           encoder.feature_outputs, encoder.padded_len_ // encoder.sample_len_,
                           encoder.sample_len_, attribute_units=(16,), lstm_units=8,
                           critic_units=(16, 16), seed=3)
    return Trainer(DoppelGANger(config), TrainingConfig(batch_size=8, seed=5, dp=dp),
                   n_series=data.n_series)


def test_dp_gradient_without_noise_or_clipping_equals_plain_gradient():
    df, schema = attribute_frame(n_series=16, length=4)
    encoder = Encoder(schema).fit(df)
    data = encoder.transform(df)
    batch = (data.attributes[:8], data.minmax[:8], data.features[:8], tf.range(8), 8, 0)
    plain = _trainer(data, encoder, None).critic_gradients(*batch)
    private = _trainer(data, encoder, _settings(0.0, 1e9, 8)).critic_gradients(*batch)
    for name, a, b in (("critic", plain[0], private[0]), ("aux critic", plain[1], private[1])):
        assert len(a) == len(b) > 0
        for g, h in zip(a, b):
            np.testing.assert_allclose(h.numpy(), g.numpy(), rtol=2e-4, atol=1e-6,
                                       err_msg=name)
    # With a small clip norm the DP gradient is different (and bounded).
    clipped = _trainer(data, encoder, _settings(0.0, 1e-3, 8)).critic_gradients(*batch)
    total = np.sqrt(sum((g.numpy() ** 2).sum() for g in clipped[0] + clipped[1]))
    assert total <= 1e-3 + 1e-7


def test_known_noise_multiplier_for_a_worked_example():
    # n=10,000, batch 100, 15 epochs, delta 1e-5, epsilon 1, RDP accounting.
    sigma = compute_noise_multiplier(1.0, 1e-5, 0.01, 1500)
    assert sigma == pytest.approx(1.7625, abs=2e-3)
    # Two critic updates per batch: sqrt(2) times the noise per update.
    assert compute_noise_multiplier(1.0, 1e-5, 0.01, 1500, 2) == pytest.approx(
        sigma * math.sqrt(2), rel=1e-3)


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 10.0])
@pytest.mark.parametrize("critic_steps", [1, 2])
def test_spent_epsilon_is_at_most_and_close_to_target(epsilon, critic_steps):
    settings = resolve_dp_settings(epsilon, None, 1.0, None, n_series=600, batch_size=100,
                                   epochs=20, critic_steps=critic_steps)
    assert 0.9 * epsilon <= settings.epsilon <= epsilon
    assert settings.delta == pytest.approx(1 / 6000)
    assert settings.steps == 120 and settings.sampling_probability == pytest.approx(1 / 6)


def test_accounting_logs_no_convergence_warnings(caplog):
    # dp-accounting 0.6 warns for each fractional order it leaves out; the smoke
    # test's settings (q = 1/6) gave about a hundred such lines per DP fit.
    with caplog.at_level(logging.WARNING):
        settings = resolve_dp_settings(5.0, None, 1.0, None, n_series=120, batch_size=20,
                                       epochs=2, critic_steps=1)
        assert 0 < settings.epsilon <= 5.0
    assert not [r for r in caplog.records if "converge" in r.getMessage()]
    # Other warnings still get through.
    logging.getLogger("absl").warning("something else")
    assert caplog.records[-1].getMessage() == "something else"


def test_noise_multiplier_decreases_as_epsilon_grows():
    sigmas = [resolve_dp_settings(e, None, 1.0, None, 600, 100, 20, 1).noise_multiplier
              for e in (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:]))


@needs_tf_privacy
@pytest.mark.parametrize("critic_steps", [1, 3])
def test_epsilon_matches_tensorflow_privacy_statement(critic_steps):
    from tensorflow_privacy.privacy.analysis.compute_dp_sgd_privacy_lib import (
        compute_dp_sgd_privacy_statement,
    )

    settings = resolve_dp_settings(2.0, 1e-4, 1.0, None, n_series=600, batch_size=100,
                                   epochs=20, critic_steps=critic_steps)
    statement = compute_dp_sgd_privacy_statement(
        number_of_examples=600, batch_size=100, num_epochs=20,
        noise_multiplier=settings.noise_multiplier / math.sqrt(critic_steps), delta=1e-4,
        used_microbatching=False)
    poisson = float(re.search(r"Poisson sampling \(\*\):\s+([0-9.]+)", statement).group(1))
    assert settings.epsilon == pytest.approx(poisson, abs=1e-3)
    assert compute_epsilon(0.0, 0.1, 10, 1e-5) == math.inf


@pytest.mark.parametrize("kwargs, message", [
    (dict(epsilon=0.0), "epsilon must be a positive finite number"),
    (dict(epsilon=-1.0), "epsilon must be a positive finite number"),
    (dict(epsilon=1.0, delta=0.05), r"delta must lie in \(0, 1/n_series"),
    (dict(epsilon=1.0, batch_size=50), "batch_size=50 is larger than the 30 series"),
    (dict(epsilon=1.0, noise_multiplier=1.0), "either epsilon .* or noise_multiplier"),
    (dict(epsilon=1.0, l2_norm_clip=0.0), "l2_norm_clip must be a positive number"),
    (dict(noise_multiplier=-0.5), "noise_multiplier must be >= 0"),
    (dict(epsilon=1.0, dp_noise_source="numpy"), "dp_noise_source must be one of 'auto', "
                                                 "'dgkeras', 'tf-privacy', got 'numpy'"),
])
def test_unsound_settings_are_refused(kwargs, message):
    df, schema = attribute_frame(n_series=30, length=3)
    params = {**SMALL, "epochs": 1, "batch_size": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        DGSynthesizer(**params).fit(df, schema)


def test_dp_fit_spends_its_budget_and_keeps_it_through_save(tmp_path):
    df, schema = attribute_frame(n_series=40, length=4)
    synth = DGSynthesizer(epochs=3, batch_size=10, epsilon=2.0, random_state=0, **SMALL)
    synth.fit(df, schema)
    assert 1.8 <= synth.epsilon_ <= 2.0
    assert synth.delta_ == pytest.approx(1 / 400) and synth.noise_multiplier_ > 0.5
    # Critic losses are computed from real data without noise: not released.
    assert synth.history_["critic_loss"].isna().all()
    assert np.isfinite(synth.history_["generator_loss"]).all()
    assert synth.sample(5, random_state=0)["id"].nunique() == 5
    synth.save(tmp_path / "dp.dgk")
    assert DGSynthesizer.load(tmp_path / "dp.dgk").epsilon_ == synth.epsilon_
    explicit = DGSynthesizer(epochs=3, batch_size=10, noise_multiplier=synth.noise_multiplier_,
                             random_state=0, **SMALL).fit(df, schema)
    assert explicit.epsilon_ == pytest.approx(synth.epsilon_, rel=1e-6)


def test_membership_inference_detects_a_model_that_copies_training_series(monkeypatch):
    df, schema = attribute_frame(n_series=60, length=5, seed=3)
    train = df[df["id"] < 130]
    holdout = df[df["id"] >= 130]
    synth = DGSynthesizer(epochs=1, batch_size=10, random_state=0, **SMALL).fit(train, schema)
    honest = membership_inference(synth, train, holdout, random_state=0)
    assert 0.0 <= honest.success_rate <= 1.0
    assert len(honest.member_distances) == len(honest.non_member_distances) == 30

    def copy_training(n, random_state=None):
        copied = train.copy()
        copied["id"] = copied["id"] + 1000
        return copied

    monkeypatch.setattr(synth, "sample", copy_training)
    leaky = membership_inference(synth, train, holdout, random_state=0)
    assert leaky.success_rate >= 0.95
    assert np.allclose(leaky.member_distances, 0, atol=1e-5)
    with pytest.raises(DataError, match="holdout_df: columns"):
        membership_inference(synth, train, holdout.drop(columns="usage"))
    assert isinstance(leaky.member_distances, np.ndarray) and isinstance(train, pd.DataFrame)
