"""Training health, interruption, and model files that future versions must still read."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import DATA, SMALL, attribute_frame

import dgkeras.training
from dgkeras import DGSynthesizer, TrainingDivergedError
from dgkeras.sampling import Sampler
from dgkeras.training import HISTORY_COLUMNS


def _diverge_in_epoch_4(monkeypatch):
    """Blow the learning rates up after epoch 3, so that epoch 4 diverges.

    Returns the weights after each finished epoch, by epoch number from 1.
    """
    snapshots = {}
    real_fit = dgkeras.training.Trainer.fit

    def fit_with_a_divergent_learning_rate(trainer, *arrays, callbacks, **kwargs):
        class Bump:
            def on_epoch_end(self, epoch, logs):
                snapshots[epoch + 1] = trainer.model.get_weights()
                if epoch == 2:
                    for optimizer in (trainer.generator_optimizer, trainer.critic_optimizer,
                                      trainer.aux_critic_optimizer):
                        optimizer.learning_rate.assign(1e30)
        callbacks.callbacks.append(Bump())
        return real_fit(trainer, *arrays, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(dgkeras.training.Trainer, "fit", fit_with_a_divergent_learning_rate)
    return snapshots


def test_divergence_stops_with_the_last_good_weights(monkeypatch):
    """Epoch 4 diverges: epoch 3's weights stay."""
    snapshots = _diverge_in_epoch_4(monkeypatch)
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=10, batch_size=8, random_state=0, **SMALL)
    with pytest.raises(TrainingDivergedError, match=r"training diverged in epoch 4: non-finite "
                       r"values in \[.*'generator_loss'.*\]; the model keeps the weights of "
                       r"epoch 3\. Lower generator_lr") as caught:
        synth.fit(df, schema)
    assert caught.value.epoch == 4
    # No epoch was scored yet (every 10 epochs): the last good weights stay.
    losses = synth.history_[HISTORY_COLUMNS]
    assert len(losses) == 3 and np.isfinite(losses.to_numpy()).all()
    kept = synth.model_.get_weights()
    for name, arrays in snapshots[3].items():
        for expected, got in zip(arrays, kept[name]):
            np.testing.assert_array_equal(got, expected)
    sample = synth.sample(200, random_state=0)
    assert np.isfinite(sample["usage"]).all() and np.isfinite(sample["size"]).all()


def test_divergence_after_a_scored_epoch_keeps_the_best_generators(monkeypatch):
    """Scored at epoch 2, diverged in epoch 4: epoch 2's generators, epoch 3's critics."""
    snapshots = _diverge_in_epoch_4(monkeypatch)
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=10, batch_size=8, random_state=0, keep_best_every=2, **SMALL)
    with pytest.raises(TrainingDivergedError, match=r"the model keeps the generators of epoch "
                       r"2, their best score, and the critics of epoch 3\. Lower"):
        synth.fit(df, schema)
    kept = synth.model_.get_weights()
    for name, arrays in snapshots[2].items():
        want = arrays if name.endswith("generator") else snapshots[3][name]
        for expected, got in zip(want, kept[name]):
            np.testing.assert_array_equal(got, expected)
    assert synth.history_["selection_score"].notna().tolist() == [False, True, False]


def test_divergence_in_the_first_epoch_leaves_the_model_unfitted():
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=5, batch_size=8, random_state=0, generator_lr=1e30,
                          critic_lr=1e30, **SMALL)
    with pytest.raises(TrainingDivergedError, match="no epoch finished, so the model is not "
                                                    "fitted"):
        synth.fit(df, schema)
    assert not hasattr(synth, "model_")


_INTERRUPTED_FIT = """
    import json, signal, sys
    # A terminal's Ctrl-C: not the SIG_IGN a test runner's process may pass down.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    sys.path.insert(0, {tests!r})
    from conftest import SMALL, attribute_frame
    from dgkeras import DGSynthesizer
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=100000, batch_size=8, random_state=0,
                          **{{**SMALL, "verbose": 2}})
    try:
        synth.fit(df, schema)
    except KeyboardInterrupt:
        sample = synth.sample(100, random_state=0)
        print(json.dumps({{"epochs": len(synth.history_),
                          "finite": bool(np.isfinite(synth.history_[
                              ["critic_loss", "aux_critic_loss", "generator_loss",
                               "seconds"]].to_numpy()).all()),
                          "series": int(sample["id"].nunique()),
                          "sample_finite": bool(np.isfinite(sample["usage"]).all())}}))
"""


def test_ctrl_c_during_fit_leaves_a_model_at_the_last_finished_epoch():
    code = _INTERRUPTED_FIT.format(tests=str(pathlib.Path(__file__).parent))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.monotonic() + 240
    while seen < 3 and time.monotonic() < deadline:
        line = child.stderr.readline()
        if not line:
            break
        seen += line.startswith("epoch ")
    assert seen == 3, "the fit printed no progress"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert 3 <= result["epochs"] < 100000
    assert result["finite"] and result["sample_finite"] and result["series"] == 100


class _CtrlCInFinalizer:
    """Sends Ctrl-C to this process from inside a finalizer, where Python's own
    handler would raise a KeyboardInterrupt that is printed and lost."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_landing_in_a_finalizer_still_stops_the_fit():
    # Python's default handler, whatever an earlier test left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _fit_interrupted_in_a_finalizer()
    finally:
        signal.signal(signal.SIGINT, previous)


def _fit_interrupted_in_a_finalizer():
    df, schema = attribute_frame()

    def on_epoch_end(epoch, logs):
        if epoch == 1:
            _CtrlCInFinalizer()  # dropped at once: its finalizer runs here

    synth = DGSynthesizer(epochs=6, batch_size=8, random_state=0, **SMALL,
                          callbacks=[tf.keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    with pytest.raises(KeyboardInterrupt):
        synth.fit(df, schema)
    assert len(synth.history_) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_interrupted_sample_to_leaves_no_file(fitted_attributes, tmp_path, monkeypatch):
    synth, _, _ = fitted_attributes
    target = tmp_path / "out.csv"
    calls = []
    real_decode = Sampler.decode

    def decode_then_interrupt(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_decode(self, *args)

    monkeypatch.setattr(Sampler, "decode", decode_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        synth.sample_to(target, 300, chunk_size=100)
    assert list(tmp_path.iterdir()) == []


def test_model_file_of_format_version_1_still_loads_and_samples_the_same():
    """tests/data/model_v1.dgk was saved by dgkeras 0.1.0 (make_model_fixture.py)."""
    synth = DGSynthesizer.load(DATA / "model_v1.dgk")
    expected = pd.read_csv(DATA / "model_v1_sample.csv")
    got = synth.sample(20, random_state=5)
    assert list(got.columns) == list(expected.columns)
    # The dtypes of the training frame, as this pandas builds it.
    assert got.dtypes.to_dict() == attribute_frame()[0].dtypes.to_dict()
    for column in ["id", "t", "region", "premium", "size"]:
        assert got[column].tolist() == expected[column].tolist()
    np.testing.assert_allclose(got["usage"], expected["usage"], rtol=1e-5)
    assert synth.n_series_ == 30 and len(synth.history_) == 3
