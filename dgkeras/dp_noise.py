"""The Gaussian noise of DP-SGD, and the one place that decides where it comes from.

Both sources add the same distribution to the clipped gradient sum: an
independent N(0, stddev^2) draw per coordinate, with
``stddev = noise_multiplier * l2_norm_clip`` (see :mod:`dgkeras.privacy`).

``"dgkeras"``
    ``tf.random.stateless_normal`` keyed by a seed that the training loop
    derives from ``random_state``, the step, the critic update and the
    replica: the same stateless stream as the rest of training, so a DP fit
    is reproduced bit for bit from its seed.
``"tf-privacy"``
    TensorFlow Privacy's ``GaussianSumQuery.get_noised_result``, which draws
    from TensorFlow's global random state: two fits with the same seed get
    different noise. TensorFlow Privacy 0.9.0, its last release, imports only
    with TensorFlow 2.15 on Python 3.10 and 3.11 (``pip install
    "dgkeras[tf-privacy]"``).
``"auto"``
    ``"tf-privacy"`` where it imports, ``"dgkeras"`` elsewhere.

The accounting (:func:`dgkeras.privacy.compute_epsilon`) does not depend on
the source: it calls dp-accounting directly.
"""

from __future__ import annotations

import functools
from typing import List, Optional, Sequence

from .exceptions import DataError
from .params import check


@functools.cache
def tf_privacy_available() -> bool:
    """Whether TensorFlow Privacy imports here.

    Returns
    -------
    bool
    """
    try:
        import tensorflow_privacy  # noqa: F401
    # On TensorFlow 2.16+ its package __init__ fails with ModuleNotFoundError
    # (tensorflow_estimator) or ImportError (estimator_training), not always
    # an ImportError subclass of our choosing.
    except Exception:
        return False
    return True


def resolve_noise_source(name: str) -> str:
    """The source a DP fit draws its noise from: ``"dgkeras"`` or ``"tf-privacy"``.

    Parameters
    ----------
    name : {"auto", "dgkeras", "tf-privacy"}

    Returns
    -------
    str

    Raises
    ------
    DataError
        For an unknown name, or ``"tf-privacy"`` where TensorFlow Privacy
        does not import.
    """
    check("dp_noise_source", name)
    if name == "auto":
        return "tf-privacy" if tf_privacy_available() else "dgkeras"
    if name == "tf-privacy" and not tf_privacy_available():
        raise DataError(
            "dp_noise_source='tf-privacy' needs TensorFlow Privacy, which imports only with "
            "TensorFlow 2.15 on Python 3.10 or 3.11 (pip install \"dgkeras[tf-privacy]\"); "
            "dp_noise_source='dgkeras' adds the same Gaussian noise, drawn from the fit's seed")
    return name


def add_gaussian_noise(tensors: Sequence, stddev: float, source: str,
                       seed: Optional[object] = None, l2_norm_clip: float = 1.0) -> List:
    """``tensors`` plus independent N(0, stddev^2) noise on every coordinate.

    Parameters
    ----------
    tensors : sequence of Tensor
        The clipped gradient sums, one per variable.
    stddev : float
        Noise standard deviation.
    source : {"dgkeras", "tf-privacy"}
        A resolved source (:func:`resolve_noise_source`).
    seed : Tensor of shape (2,), optional
        Stateless seed of the draw; required by ``"dgkeras"``, ignored by
        ``"tf-privacy"``. Each tensor draws from its own stream folded from it.
    l2_norm_clip : float
        The clip norm, which TensorFlow Privacy's query records.

    Returns
    -------
    list of Tensor
    """
    import tensorflow as tf

    if source == "tf-privacy":
        from tensorflow_privacy import GaussianSumQuery

        query = GaussianSumQuery(l2_norm_clip=l2_norm_clip, stddev=stddev)
        noised, _, _ = query.get_noised_result(list(tensors), query.initial_global_state())
        return list(noised)
    if source != "dgkeras":
        raise ValueError(f"unresolved noise source {source!r}: resolve it first")
    if seed is None:
        raise ValueError("the 'dgkeras' noise source draws from a stateless seed: pass seed")
    return [t + tf.random.stateless_normal(tf.shape(t), tf.random.experimental.stateless_fold_in(
                seed, i), stddev=stddev, dtype=t.dtype)
            for i, t in enumerate(tensors)]
