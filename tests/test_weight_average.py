"""Sampling with the generators' weights averaged over epochs (``ema_decay``)."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL, StopAfter, attribute_frame

from dgkeras import DGSynthesizer
from dgkeras.training import WeightAverage

GENERATORS = ("attribute_generator", "minmax_generator", "feature_generator")


def test_weight_average_copies_first_then_decays_and_applies():
    weights = [tf.Variable([1.0, 2.0]), tf.Variable([[4.0]])]
    average = WeightAverage(weights, decay=0.75)
    average.apply()  # nothing averaged yet: the weights stay
    np.testing.assert_array_equal(weights[0].numpy(), [1.0, 2.0])
    average.update()
    weights[0].assign([5.0, 6.0])
    weights[1].assign([[0.0]])
    average.update()
    np.testing.assert_allclose(average.averages[0].numpy(), [0.75 * 1 + 0.25 * 5,
                                                             0.75 * 2 + 0.25 * 6])
    np.testing.assert_allclose(average.averages[1].numpy(), [[0.75 * 4]])
    assert int(average.updates.numpy()) == 2
    average.apply()
    np.testing.assert_allclose(weights[0].numpy(), [2.0, 3.0])
    np.testing.assert_allclose(weights[1].numpy(), [[3.0]])


def _fit(epochs, **params):
    df, schema = attribute_frame()
    settings = dict(epochs=epochs, batch_size=8, random_state=0, steps_per_call=1, **SMALL)
    settings.update(params)
    return DGSynthesizer(**settings).fit(df, schema).model_.get_weights()


def test_the_fitted_generators_hold_the_average_of_the_epochs():
    # A fit's batches and noise depend on (seed, epoch) alone, so the weights
    # after epoch e are those of a fit of e epochs.
    per_epoch = [_fit(epochs) for epochs in (1, 2, 3)]
    averaged = _fit(3, ema_decay=0.5)
    for name in GENERATORS:
        for w1, w2, w3, got in zip(*(w[name] for w in per_epoch), averaged[name]):
            # Epoch 1 is copied, then average = 0.5 * average + 0.5 * weights.
            np.testing.assert_allclose(got, 0.25 * w1 + 0.25 * w2 + 0.5 * w3, atol=1e-5)
    # The critics keep their last weights; the average is not the last weights.
    for name in ("critic", "aux_critic"):
        for want, got in zip(per_epoch[2][name], averaged[name]):
            np.testing.assert_allclose(got, want, atol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(per_epoch[2]["feature_generator"],
                                                    averaged["feature_generator"])) > 1e-3


def test_zero_decay_keeps_the_last_weights():
    last, zero = _fit(2), _fit(2, ema_decay=0.0)
    for name in last:
        for want, got in zip(last[name], zero[name]):
            np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_resumed_fit_averages_on_from_the_checkpoint(tmp_path):
    df, schema = attribute_frame()
    settings = dict(epochs=5, batch_size=8, random_state=0, ema_decay=0.6, **SMALL)
    full = DGSynthesizer(**settings).fit(df, schema)
    stopped = DGSynthesizer(checkpoint_dir=str(tmp_path), checkpoint_every=1,
                            callbacks=[StopAfter(1)], **settings).fit(df, schema)
    assert len(stopped.history_) == 2
    resumed = DGSynthesizer(checkpoint_dir=str(tmp_path), checkpoint_every=1,
                            **settings).fit(df, schema, resume=True)
    want, got = full.model_.get_weights(), resumed.model_.get_weights()
    for name in want:
        for a, b in zip(want[name], got[name]):
            np.testing.assert_allclose(b, a, atol=1e-5)
    # A checkpoint of another decay is refused rather than averaged on.
    with pytest.raises(ValueError, match="written by a fit on other data or with other"):
        DGSynthesizer(checkpoint_dir=str(tmp_path), **{**settings, "ema_decay": 0.9}).fit(
            df, schema, resume=True)
