"""Exceptions raised by dgkeras, and how their messages name series and values."""

from typing import Any

import numpy as np


class DataError(ValueError):
    """Input data or a schema that dgkeras cannot use.

    The message names the column, the series and the problem, so that the
    offending value can be found in the user's own data.
    """


def plain(value: Any) -> Any:
    """``value`` as a plain Python object where it is a NumPy scalar.

    Messages show keys and values with ``repr``, and under NumPy 2 a NumPy
    scalar's repr is ``np.int64(101)``, not the ``101`` of the user's data.
    """
    return value.item() if isinstance(value, np.generic) else value


def series_label(key: Any) -> str:
    """How a message names one series: ``series 101`` or ``series 'home-7'``."""
    return f"series {plain(key)!r}"


class TrainingDivergedError(RuntimeError):
    """Training produced a NaN or infinite loss or weight.

    The estimator keeps the weights and history of the last epoch that
    finished with finite values (when there is one), so it can still sample.

    Parameters
    ----------
    message : str
        What went wrong and what to try.
    epoch : int
        Number (from 1) of the epoch that diverged.
    """

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch
