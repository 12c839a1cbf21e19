"""Training checkpoints: save every k epochs, resume an interrupted fit where it stopped.

A checkpoint folder holds TensorFlow checkpoints (``epoch-<k>.index`` and
``.data-*``) of everything training changes (the five networks, the three
optimizers with their moments, the noise generator's state) and beside each
a small JSON file with the epoch, the history so far and a fingerprint of
the data and settings. As the batches of an epoch depend only on the seed
and the epoch number (see :meth:`dgkeras.training.Trainer.epoch_batches`),
a resumed fit follows the same path as an uninterrupted one with the same
``random_state``. The two newest checkpoints are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pandas as pd
import tensorflow as tf

from .exceptions import DataError

_PREFIX = "epoch"
KEEP = 2


def fingerprint(arrays, settings: Dict[str, Any]) -> str:
    """SHA-256 of the encoded training arrays and the settings that shape training."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class Checkpointer:
    """Saves a trainer's state every ``every`` epochs and restores the newest one.

    Parameters
    ----------
    directory : str or path-like
        Folder of the checkpoints; created if missing.
    every : int
        Save after every ``every``-th epoch and after the last one.
    trainer : dgkeras.training.Trainer
    fingerprint : str
        Of the data and settings; a checkpoint with another one is refused.
    """

    def __init__(self, directory: "str | os.PathLike", every: int, trainer: Any,
                 fingerprint: str) -> None:
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.every = every
        self.trainer = trainer
        self.fingerprint = fingerprint
        self.manager = tf.train.CheckpointManager(trainer.checkpoint(), self.directory,
                                                  max_to_keep=KEEP, checkpoint_name=_PREFIX)

    def _state_path(self, epoch: int) -> str:
        return os.path.join(self.directory, f"{_PREFIX}-{epoch}.json")

    def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
        """Save after every ``every``-th epoch (numbered from 0) and after the last."""
        done = epoch + 1
        if done % self.every and done != self.trainer.config.epochs:
            return
        # The JSON goes first: a checkpoint the manager lists always has its state.
        state = {"epoch": done, "fingerprint": self.fingerprint,
                 "history": self.trainer.history.to_dict("list")}
        tmp = self._state_path(done) + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(tmp, self._state_path(done))
        self.manager.save(checkpoint_number=done)
        kept = {int(p.rsplit("-", 1)[1]) for p in self.manager.checkpoints}
        for name in os.listdir(self.directory):
            if name.startswith(f"{_PREFIX}-") and name.endswith(".json"):
                number = name[len(_PREFIX) + 1:-len(".json")]
                if number.isdigit() and int(number) not in kept:
                    os.remove(os.path.join(self.directory, name))

    def restore(self) -> Optional[Tuple[int, pd.DataFrame]]:
        """Load the newest checkpoint into the trainer.

        Returns
        -------
        (epochs done, history) or None
            None when the folder holds no checkpoint.

        Raises
        ------
        DataError
            If the checkpoint was written for other data or settings.
        """
        latest = self.manager.latest_checkpoint
        if latest is None:
            return None
        epoch = int(latest.rsplit("-", 1)[1])
        with open(self._state_path(epoch), encoding="utf-8") as f:
            state = json.load(f)
        if state["fingerprint"] != self.fingerprint:
            raise DataError(
                f"the checkpoint {latest!r} was written by a fit on other data or with other "
                "settings; resume with the same data and parameters, or use another "
                "checkpoint_dir"
            )
        self.manager.checkpoint.restore(latest).assert_existing_objects_matched()
        return epoch, pd.DataFrame(state["history"])
