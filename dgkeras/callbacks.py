"""What happens when an epoch ends: progress output, TensorBoard logs, user callbacks.

A callback is any object with some of the Keras callback methods
``on_train_begin(logs)``, ``on_epoch_end(epoch, logs)`` and
``on_train_end(logs)``; ``tf.keras.callbacks.Callback`` subclasses qualify.
``logs`` holds the epoch's mean ``critic_loss``, ``aux_critic_loss``,
``generator_loss`` and its ``seconds`` (and with ``keep_best_every`` its
``selection_score``, NaN in the epochs not scored); ``on_train_end`` is told
the kept generator's ``best_epoch`` (from 1) and ``best_score``, if any.
Before training, a callback's ``set_model`` (if any) receives the
:class:`~dgkeras.DGSynthesizer`; setting its ``stop_training`` attribute to
True ends the fit after that epoch, as in Keras.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Iterable, List, Optional, TextIO

#: Width of the bar in characters.
BAR_WIDTH = 24


class ProgressBar:
    """A progress bar over epochs with the current losses, written to a stream.

    On a terminal the bar is redrawn in place (at most 10 times a second);
    elsewhere (logs, notebooks saving output) it prints a line about every
    10% of the epochs. ``verbose=2`` prints one line per epoch.

    Parameters
    ----------
    epochs : int
        Epochs of the whole fit (or, with another ``unit``, units of work).
    verbose : int
        1 for the bar, 2 for one line per epoch.
    stream : file-like, optional
        Default ``sys.stderr``.
    initial_epoch : int
        Epochs already done (when resuming).
    unit : str
        What is counted, for the text ("epoch", "series").
    """

    def __init__(self, epochs: int, verbose: int = 1, stream: Optional[TextIO] = None,
                 initial_epoch: int = 0, unit: str = "epoch") -> None:
        self.epochs, self.verbose, self.initial_epoch = epochs, verbose, initial_epoch
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = verbose == 1 and getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self.last_draw = 0.0
        # Off a terminal, the next count at which a line is printed.
        self.next_line = initial_epoch + 1 if verbose >= 2 else max(1, epochs // 10)

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        """Draw the bar (or a line) for a finished epoch, numbered from 0."""
        self.update(epoch + 1, logs)

    def update(self, done: int, logs: Optional[Dict[str, float]] = None) -> None:
        """Draw the bar (or a line) after ``done`` of the total units."""
        logs = logs or {}
        now = time.perf_counter()
        final = done == self.epochs
        if self.interactive:
            if not final and now - self.last_draw < 0.1:
                return
            self.stream.write("\r" + self.line(done, logs, now) + ("\n" if final else ""))
        else:
            every = 1 if self.verbose >= 2 else max(1, self.epochs // 10)
            if not final and done < self.next_line:
                return
            self.next_line = (done // every + 1) * every
            self.stream.write(self.line(done, logs, now) + "\n")
        self.stream.flush()
        self.last_draw = now

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        """Say which epoch's generator the fit kept, if it kept the best."""
        if logs and "best_epoch" in logs:
            self.stream.write(f"kept the generator of {self.unit} {logs['best_epoch']}/"
                              f"{self.epochs} (selection score {logs['best_score']:.4f})\n")
            self.stream.flush()

    def line(self, done: int, logs: Dict[str, float], now: float) -> str:
        """The text of the bar after ``done`` epochs."""
        fraction = done / self.epochs
        filled = int(BAR_WIDTH * fraction)
        bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + "." * (BAR_WIDTH - filled - 1)
        elapsed = now - self.start
        run = done - self.initial_epoch
        remaining = elapsed / run * (self.epochs - done) if run else float("nan")
        losses = "".join(f"  {k} {v:.4f}" for k, v in logs.items()
                         if k != "seconds" and not _not_scored(k, v))
        return (f"{self.unit} {done}/{self.epochs} [{bar[:BAR_WIDTH]}] {elapsed:.0f}s "
                f"eta {_clock(remaining)}{losses}")


def _not_scored(name: str, value: float) -> bool:
    """Whether a log entry is the NaN ``selection_score`` of an epoch not scored,
    which is not shown (the NaN losses of a DP fit are)."""
    return name == "selection_score" and value != value


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


class TensorBoardLogger:
    """Write each epoch's losses as TensorBoard scalars under ``log_dir``.

    Parameters
    ----------
    log_dir : str or path-like
        Event-file folder; view with ``tensorboard --logdir log_dir``.

    Raises
    ------
    ImportError
        If TensorBoard is not installed (``pip install "dgkeras[tensorboard]"``).
    """

    def __init__(self, log_dir: Any) -> None:
        try:
            import tensorboard  # noqa: F401
        except ImportError as exc:
            # tf.summary writes through TensorBoard, which TensorFlow 2.16+
            # no longer installs; fail before training rather than after an epoch.
            raise ImportError(
                "log_dir writes TensorBoard event files, which needs TensorBoard: "
                "pip install \"dgkeras[tensorboard]\"") from exc
        import tensorflow as tf

        self._tf = tf
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        """Write the epoch's losses and duration at step ``epoch + 1``."""
        with self.writer.as_default():
            for name, value in logs.items():
                if not _not_scored(name, value):
                    self._tf.summary.scalar(name, value, step=epoch + 1)
        self.writer.flush()

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        """Close the event file."""
        self.writer.close()


class CallbackList:
    """Calls the methods each callback has, in order.

    Parameters
    ----------
    callbacks : iterable
        Callback objects (see the module docstring).
    model : object, optional
        Passed to each callback's ``set_model``.
    """

    def __init__(self, callbacks: Iterable[Any], model: Any = None) -> None:
        self.callbacks: List[Any] = list(callbacks)
        for callback in self.callbacks:
            if not any(hasattr(callback, m) for m in
                       ("on_train_begin", "on_epoch_end", "on_train_end")):
                raise TypeError(f"callback {callback!r} has none of on_train_begin, "
                                "on_epoch_end, on_train_end")
            if model is not None and hasattr(callback, "set_model"):
                callback.set_model(model)

    def _call(self, method: str, *args: Any) -> None:
        for callback in self.callbacks:
            function = getattr(callback, method, None)
            if function is not None:
                function(*args)

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        """Start of training."""
        self._call("on_train_begin", logs)

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        """End of epoch ``epoch`` (from 0)."""
        self._call("on_epoch_end", epoch, dict(logs))

    def on_train_end(self, logs: Optional[Dict[str, float]] = None) -> None:
        """End of training, also when it stops early."""
        self._call("on_train_end", logs)
