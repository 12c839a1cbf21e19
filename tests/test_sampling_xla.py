"""Sampling with and without XLA: one graph for every size by default, the same series
with ``jit_sampling``, padded XLA calls, and a fallback when XLA fails."""

import pickle

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from dgkeras.gan import DoppelGANger, padded_size


def _copy(synth, jit_sampling=None):
    """A fresh synthesizer with the same weights and no compiled functions yet."""
    copy = pickle.loads(pickle.dumps(synth))
    if jit_sampling is not None:
        copy.model_.config.jit_sampling = jit_sampling
    return copy


def _assert_same_series(a: pd.DataFrame, b: pd.DataFrame, float_columns):
    """Equal except for float rounding in the last digits of continuous values."""
    pd.testing.assert_frame_equal(a.drop(columns=float_columns), b.drop(columns=float_columns))
    for column in float_columns:
        np.testing.assert_allclose(a[column], b[column], rtol=1e-5, atol=1e-6)


def test_padded_sizes():
    assert [padded_size(k) for k in (1, 20, 128, 129, 1000, 4096, 4097, 5000)] == \
        [128, 128, 128, 256, 1024, 4096, 4097, 5000]


def test_by_default_one_plain_graph_serves_every_request_size(fitted_attributes):
    synth, _, _ = fitted_attributes
    copy = _copy(synth)
    assert copy.get_params()["jit_sampling"] is False
    for n in (7, 1500, 130, 5003):
        assert copy.sample_arrays(n, random_state=n).lengths.shape == (n,)
    model = copy.model_
    assert model._records_function._jit_compile is False
    # Traced once, whatever the sizes asked for: nothing compiles per size.
    assert model._sampling_functions[0].experimental_get_tracing_count() == 1
    assert model._records_function.experimental_get_tracing_count() == 1


def test_xla_and_plain_sampling_give_the_same_series(fitted_attributes):
    synth, _, _ = fitted_attributes
    with_xla = _copy(synth, jit_sampling=True)
    fast = with_xla.sample(1500, random_state=6)
    # XLA compiles the feature generator alone; the MLPs around it run as a graph.
    assert with_xla.model_._records_function._jit_compile is True
    assert not with_xla.model_._sampling_functions[0]._jit_compile
    plain = _copy(synth)
    slow = plain.sample(1500, random_state=6)
    assert plain.model_._records_function._jit_compile is False
    _assert_same_series(fast, slow, ["usage"])


def test_jit_sampling_is_a_parameter_that_fitting_hands_to_the_model(fitted_attributes):
    from dgkeras import DGSynthesizer

    _, df, schema = fitted_attributes
    synth = DGSynthesizer(epochs=1, batch_size=8, random_state=0, jit_sampling=True,
                          attribute_units=(8,), lstm_units=8, critic_units=(16,),
                          verbose=0).fit(df, schema)
    synth.sample(10, random_state=0)
    assert synth.model_._records_function._jit_compile is True
    restored = pickle.loads(pickle.dumps(synth))
    assert restored.jit_sampling is True and restored.model_.config.jit_sampling is True


def test_padding_rows_do_not_change_the_generated_rows(fitted_attributes):
    synth, _, _ = fitted_attributes
    model = _copy(synth, jit_sampling=True).model_
    c = model.config
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal((300, c.attribute_noise_dim), dtype=np.float32),
             rng.standard_normal((300, c.attribute_noise_dim), dtype=np.float32),
             rng.standard_normal((300, c.n_steps, c.feature_noise_dim), dtype=np.float32))
    whole = model.sample_arrays(*noise)          # padded to 512 rows
    head = model.sample_arrays(*(x[:100] for x in noise))  # padded to 128 rows
    assert [a.shape[0] for a in whole] == [300, 300, 300]
    assert [a.shape[0] for a in head] == [100, 100, 100]
    for a, b in zip(whole, head):
        np.testing.assert_allclose(a[:100], b, rtol=1e-5, atol=1e-6)


def test_sampling_falls_back_to_plain_graphs_when_xla_fails(fitted_attributes, monkeypatch):
    synth, _, _ = fitted_attributes
    expected = _copy(synth).sample(40, random_state=3)
    run = DoppelGANger._run_sampling

    def xla_unavailable(self, inputs, strategy):
        if not self._xla_failed:
            raise tf.errors.UnimplementedError(None, None, "no XLA for this device")
        return run(self, inputs, strategy)

    monkeypatch.setattr(DoppelGANger, "_run_sampling", xla_unavailable)
    copy = _copy(synth, jit_sampling=True)
    with pytest.warns(RuntimeWarning, match="XLA could not compile the generators "
                                            r"\(UnimplementedError: no XLA for this device\)"):
        got = copy.sample(40, random_state=3)
    assert copy.model_._records_function._jit_compile is False
    _assert_same_series(got, expected, ["usage"])
