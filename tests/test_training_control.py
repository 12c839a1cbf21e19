"""Progress output, callbacks, TensorBoard logs, checkpoints and resuming."""

import io
import re
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL, StopAfter, attribute_frame

from dgkeras import DataError, DGSynthesizer
from dgkeras.callbacks import ProgressBar

LINE = re.compile(r"^epoch (\d+)/(\d+) \[[=>.]{24}\] \d+s eta (\d+:\d\d|\?)  critic_loss "
                  r"-?\d+\.\d{4}  aux_critic_loss -?\d+\.\d{4}  generator_loss -?\d+\.\d{4}"
                  r"(  selection_score \d\.\d{4})?$")


def _synth(**params):
    settings = dict(epochs=6, batch_size=8, random_state=0, **SMALL)
    settings.update(params)
    return DGSynthesizer(**settings)


@pytest.mark.parametrize("verbose, epochs, expected_epochs", [
    (0, 6, []), (1, 20, list(range(2, 21, 2))), (2, 6, [1, 2, 3, 4, 5, 6])])
def test_progress_lines(capsys, verbose, epochs, expected_epochs):
    """Off a terminal: a line per 10% of the epochs (verbose=1) or per epoch (verbose=2)."""
    df, schema = attribute_frame()
    _synth(verbose=verbose, epochs=epochs).fit(df, schema)
    err = capsys.readouterr().err.strip().splitlines()
    lines = [line for line in err if line.startswith("epoch ")]
    assert [int(LINE.match(line).group(1)) for line in lines] == expected_epochs
    assert all(LINE.match(line).group(2) == str(epochs) for line in lines)


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = ProgressBar(3, verbose=1, stream=stream)
    bar.last_draw = -1.0
    logs = {"critic_loss": -0.5, "aux_critic_loss": -0.25, "generator_loss": 1.0, "seconds": 1}
    bar.on_epoch_end(0, logs)
    bar.on_epoch_end(2, logs)
    text = stream.getvalue()
    assert text.startswith("\repoch 1/3 [========>...............]")
    assert "\repoch 3/3 [========================]" in text and text.endswith("\n")
    assert text.count("\n") == 1


def test_callbacks_see_every_epoch_and_can_stop_the_fit():
    events = []

    class Recorder:
        def on_train_begin(self, logs=None):
            events.append("begin")

        def on_epoch_end(self, epoch, logs):
            events.append((epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append("end")

    df, schema = attribute_frame()
    keras_epochs = []
    keras_callback = tf.keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: keras_epochs.append(epoch))
    synth = _synth(callbacks=[Recorder(), keras_callback, StopAfter(2)]).fit(df, schema)
    keys = ["aux_critic_loss", "critic_loss", "generator_loss", "seconds", "selection_score"]
    assert events == ["begin", (0, keys), (1, keys), (2, keys), "end"]
    assert keras_epochs == [0, 1, 2]
    assert len(synth.history_) == 3
    # The fit stopped before its first scoring (every 10 epochs): the last epoch was scored.
    assert synth.history_["selection_score"].notna().tolist() == [False, False, True]
    with pytest.raises(TypeError, match="has none of on_train_begin"):
        _synth(callbacks=[object()]).fit(df, schema)


def test_log_dir_holds_tensorboard_scalars(tmp_path):
    df, schema = attribute_frame()
    synth = _synth(epochs=3, log_dir=str(tmp_path)).fit(df, schema)
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert len(events) == 1
    scalars = {}
    for record in tf.data.TFRecordDataset(str(events[0])):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            scalars.setdefault(value.tag, []).append(
                (event.step, float(tf.make_ndarray(value.tensor))))
    assert sorted(scalars) == ["aux_critic_loss", "critic_loss", "generator_loss", "seconds",
                               "selection_score"]
    steps, values = zip(*scalars["generator_loss"])
    assert steps == (1, 2, 3)
    # Only the last epoch was scored: no NaN is written for the others.
    assert [step for step, _ in scalars["selection_score"]] == [3]
    np.testing.assert_allclose(values, synth.history_["generator_loss"], rtol=1e-6)


def test_log_dir_without_tensorboard_is_refused_before_training(tmp_path, monkeypatch):
    # TensorFlow 2.16+ does not install TensorBoard, which writes the event files.
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    df, schema = attribute_frame()
    epochs = []
    callback = tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(e))
    refusal = r'needs TensorBoard: pip install "dgkeras\[tensorboard\]"'
    with pytest.raises(ImportError, match=refusal):
        _synth(epochs=3, log_dir=str(tmp_path / "runs"), callbacks=[callback]).fit(df, schema)
    assert epochs == [] and not (tmp_path / "runs").exists()


def _assert_same_training(got, expected, atol):
    """Equal loss histories (to 1e-5) and equal weights (to atol)."""
    losses = ["critic_loss", "aux_critic_loss", "generator_loss"]
    np.testing.assert_allclose(got.history_[losses], expected.history_[losses], rtol=1e-5,
                               atol=1e-5)
    want, have = expected.model_.get_weights(), got.model_.get_weights()
    for name in want:
        for a, b in zip(want[name], have[name]):
            np.testing.assert_allclose(b, a, atol=atol)


@pytest.mark.parametrize("private", [{}, dict(noise_multiplier=1.0, dp_noise_source="dgkeras")],
                         ids=["plain", "dp"])
def test_resumed_fit_equals_an_uninterrupted_one(tmp_path, private):
    df, schema = attribute_frame()
    full = _synth(**private).fit(df, schema)
    stopped = _synth(checkpoint_dir=str(tmp_path), checkpoint_every=1,
                     callbacks=[StopAfter(2)], **private).fit(df, schema)
    assert len(stopped.history_) == 3
    # The two newest checkpoints are kept, each with its state file.
    assert sorted(p.name for p in tmp_path.glob("epoch-*.json")) == ["epoch-2.json",
                                                                     "epoch-3.json"]
    resumed = _synth(checkpoint_dir=str(tmp_path), checkpoint_every=1, **private).fit(
        df, schema, resume=True)
    _assert_same_training(resumed, full, atol=1e-5)
    assert resumed.sample(20, random_state=1).equals(full.sample(20, random_state=1))


def test_resume_refuses_a_checkpoint_of_other_data_or_settings(tmp_path):
    df, schema = attribute_frame()
    _synth(epochs=2, checkpoint_dir=str(tmp_path)).fit(df, schema)
    other = df.assign(usage=df["usage"] * 2)
    with pytest.raises(DataError, match="written by a fit on other data or with other "
                                        "settings"):
        _synth(epochs=2, checkpoint_dir=str(tmp_path)).fit(other, schema, resume=True)
    with pytest.raises(DataError, match="written by a fit on other data"):
        _synth(epochs=2, checkpoint_dir=str(tmp_path), lstm_units=8).fit(df, schema,
                                                                         resume=True)
    with pytest.raises(DataError, match="resume=True needs checkpoint_dir"):
        _synth(epochs=2).fit(df, schema, resume=True)


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    df, schema = attribute_frame()
    synth = _synth(epochs=2, checkpoint_dir=str(tmp_path / "new")).fit(df, schema, resume=True)
    assert len(synth.history_) == 2
    assert (tmp_path / "new" / "epoch-2.json").exists()


@pytest.mark.parametrize("steps_per_call", [2, 5])
def test_several_steps_per_call_make_the_same_updates(steps_per_call):
    """3 steps an epoch: calls of 2 + 1 steps, or one call of 3 (capped at the epoch)."""
    df, schema = attribute_frame()
    one = _synth(epochs=3, steps_per_call=1).fit(df, schema)
    several = _synth(epochs=3, steps_per_call=steps_per_call).fit(df, schema)
    assert one.n_series_ // 8 == 3
    _assert_same_training(several, one, atol=1e-6)
    with pytest.raises(ValueError, match="steps_per_call must be a positive integer, got 0"):
        _synth(steps_per_call=0).fit(df, schema)
