"""The generator's optional pull towards each categorical attribute's value frequencies.

A WGAN critic tells the attribute generator where to move its softmax
outputs, but the gradient reaches a value's logit multiplied by the value's
generated probability p (the softmax's derivative is ``p (1 - p)``). Once
the generator has all but stopped producing a rare value, p is close to
zero and so is every gradient that could bring the value back: the value is
never generated again. On PLAID the default settings lose one to three of
11 appliance classes this way, depending on the seed.

With ``marginal_weight`` w > 0 the generator's loss gains ``w * KL(f || q)``,
summed over the categorical attributes, where f holds each value's frequency
in the training series and q the mean generated probability of that value
over the training step's generated batch. Its gradient on a value's logit
is about ``-f`` however small that value's probability has become (the
``1 / q`` of the logarithm cancels the softmax's p), so a dropped value is
pulled back in proportion to how common it is in the data.

The frequencies are read from the training data without noise, so the term
is not available under differential privacy. ``refit_attributes`` may use it
for any model: the new attribute rows it trains on are used without DP.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from .outputs import Output

# Keeps log(q) finite for a value whose probability has underflowed to 0.
# It must stay far below the probabilities it is meant to revive: the
# gradient on a logit is about f * q / (q + eps), which fades once q falls
# below eps (1e-8 here would let a value at q = 1e-13 go as in plain WGAN).
_LOG_EPS = 1e-30


def categorical_frequencies(attributes: np.ndarray, outputs: Sequence[Output]) -> np.ndarray:
    """Each categorical value's share of the training series, 0 at other positions.

    Parameters
    ----------
    attributes : numpy.ndarray, shape (n_series, A)
        Encoded training attributes: a one-hot block per categorical column.
    outputs : sequence of Output
        The attribute blocks, in order; softmax blocks are the categorical ones.

    Returns
    -------
    numpy.ndarray, shape (A,), float32
        Column means at positions of softmax blocks (each block sums to 1),
        zeros at positions of continuous attributes.
    """
    categorical = np.concatenate([np.full(o.dim, o.activation == "softmax") for o in outputs]
                                 ) if outputs else np.zeros(0, bool)
    if len(attributes) == 0:
        return np.zeros(len(categorical), np.float32)
    return np.where(categorical, np.asarray(attributes, np.float64).mean(axis=0),
                    0.0).astype(np.float32)


def frequency_target(attributes: np.ndarray, outputs: Sequence[Output]) -> Optional[tf.Tensor]:
    """The frequencies to pull towards as a constant, or None when there are none.

    Parameters
    ----------
    attributes : numpy.ndarray, shape (n_series, A)
        Encoded attributes whose value shares are the target.
    outputs : sequence of Output
        The attribute blocks, in order.

    Returns
    -------
    Tensor or None
        :func:`categorical_frequencies` as a float32 constant; None when no
        attribute is categorical, so that callers can leave the term out.
    """
    frequencies = categorical_frequencies(attributes, outputs)
    return tf.constant(frequencies) if frequencies.any() else None


def marginal_divergence(generated_mean: tf.Tensor, frequencies: tf.Tensor) -> tf.Tensor:
    """``sum f * (log f - log q)`` over the positions where the frequency f is positive.

    Parameters
    ----------
    generated_mean : Tensor, shape (A,)
        Mean generated attributes over a batch: for a softmax block, the
        mean probability q of each value.
    frequencies : Tensor, shape (A,)
        From :func:`categorical_frequencies`.

    Returns
    -------
    Tensor, scalar
        The KL divergence of the batch's value shares from the training
        frequencies, summed over the categorical attributes; 0 when they
        agree. Values absent from the training data and continuous
        attributes add nothing.
    """
    present = frequencies > 0
    safe = tf.where(present, frequencies, 1.0)
    terms = frequencies * (tf.math.log(safe) - tf.math.log(generated_mean + _LOG_EPS))
    return tf.reduce_sum(tf.where(present, terms, 0.0))
