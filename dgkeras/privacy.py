"""Differential privacy settings of a fit.

DP-SGD for the critics (TensorFlow Privacy) is part of the public API
(``epsilon``, ``delta``, ``l2_norm_clip``, ``noise_multiplier``) but is not
available in this release: asking for it is refused with a clear error
rather than silently training without privacy.
"""

from __future__ import annotations

from typing import Optional

from .exceptions import NotYetSupportedError


def check_dp_request(epsilon: Optional[float], noise_multiplier: Optional[float]) -> None:
    """Refuse a DP fit until DP-SGD is available.

    Parameters
    ----------
    epsilon : float or None
        Target privacy budget.
    noise_multiplier : float or None
        Explicit DP-SGD noise multiplier.

    Raises
    ------
    NotYetSupportedError
        If either is set: training would otherwise give no privacy guarantee.
    """
    if epsilon is not None or noise_multiplier is not None:
        raise NotYetSupportedError(
            "differentially private training (epsilon= / noise_multiplier=) is not available "
            "in this release of dgkeras; fit without it, or wait for DP-SGD support. "
            "No model was trained, so no data was exposed without the requested guarantee."
        )
