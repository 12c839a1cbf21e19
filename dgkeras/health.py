"""Training health: the check for non-finite values after every epoch, and the last good weights.

After every epoch a fit checks its losses and every weight of every network
for NaN or infinity, and keeps a copy of the weights that passed, to go back
to when a later epoch diverges or is interrupted. The copies are NumPy
arrays: reading the weights of the paper's network sizes and checking them
takes about 2 ms an epoch, while a compiled check took about 1 ms an epoch
but 0.2 s to trace and build on its first call, which a short fit would
pay in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from .gan import DoppelGANger


class LastGoodWeights:
    """The model's weights as they were after the last healthy epoch.

    Parameters
    ----------
    model : DoppelGANger
        The networks to check and copy (through its ``get_weights`` and
        ``set_weights``). Their current weights are kept from the start.
    """

    def __init__(self, model: "DoppelGANger") -> None:
        self.model = model
        self._kept = model.get_weights()

    def keep(self) -> None:
        """Copy the current weights, unchecked (at the start of a fit)."""
        self._kept = self.model.get_weights()

    def check_and_keep(self, losses: Mapping[str, float], checked: Sequence[str]) -> List[str]:
        """Check the ``checked`` losses and every weight; keep the weights if all are finite.

        Parameters
        ----------
        losses : dict of str to float
            The epoch's losses.
        checked : sequence of str
            Which of them must be finite.

        Returns
        -------
        list of str
            The names of the non-finite losses and of the networks holding a
            non-finite weight; empty when the epoch was healthy (its weights
            are then kept; otherwise the kept ones stay).
        """
        weights = self.model.get_weights()
        bad = [k for k in checked if not np.isfinite(losses[k])]
        bad += [name for name, arrays in weights.items()
                if not all(np.isfinite(a).all() for a in arrays)]
        if not bad:
            self._kept = weights
        return bad

    def restore(self) -> None:
        """Put the kept weights back into the networks."""
        self.model.set_weights(self._kept)
