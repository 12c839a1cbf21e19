"""The contract between the encoder and the networks: output blocks and the generation flags.

The encoder describes what the generators emit as a list of :class:`Output`
blocks; the networks build one output head per block. Every record ends with
the generation flag pair (``FLAG_DIM`` softmax columns): column
``GOES_ON`` (second to last) is 1 while the series goes on, column ``ENDED``
(last) is 1 at its final record, and both are 0 after it. The functions here
read that layout for NumPy arrays and TensorFlow tensors alike. Neither
pandas nor TensorFlow is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Width of the generation flag pair at the end of every record.
FLAG_DIM = 2
#: Positions of the two flags, counted from the end of a record.
GOES_ON = -2
ENDED = -1


@dataclass(frozen=True)
class Output:
    """One block of generator outputs: a column, a flag pair or a min/max value.

    Parameters
    ----------
    name : str
        What the block encodes, for messages.
    dim : int
        Width of the block.
    activation : {"softmax", "sigmoid", "tanh"}
        Output activation the generator applies to the block.
    """

    name: str
    dim: int
    activation: str


def ended(records):
    """Where a generated record says "ended": shape (n, T), for arrays or tensors.

    Parameters
    ----------
    records : ndarray or Tensor, shape (n, T, width)
        Records whose last ``FLAG_DIM`` columns are the flag pair.
    """
    return records[:, :, ENDED] > records[:, :, GOES_ON]


def lengths_from_flags(records: np.ndarray, max_len: int) -> np.ndarray:
    """Series lengths from generation flags: up to the first "ended" record.

    Parameters
    ----------
    records : ndarray, shape (n, T, width)
        Generated records, the last two columns the flag pair.
    max_len : int
        Cap on the length (records past it are padding).

    Returns
    -------
    ndarray of int, shape (n,)
        Values in [1, max_len].
    """
    stops = ended(records)
    first_end = np.where(stops.any(axis=1), stops.argmax(axis=1) + 1, records.shape[1])
    return np.clip(first_end, 1, max_len).astype(np.int64)


def write_flags(records: np.ndarray, lengths: np.ndarray) -> None:
    """Set the flag pair of every record of real series, in place, from their lengths.

    Parameters
    ----------
    records : ndarray, shape (n, T, width)
        Encoded records, the flag columns zero.
    lengths : ndarray of int, shape (n,)
        Records of each series, at least 1.
    """
    n, steps = records.shape[:2]
    records[:, :, GOES_ON] = np.arange(steps)[None, :] < (lengths[:, None] - 1)
    records[np.arange(n), lengths - 1, ENDED] = 1.0
