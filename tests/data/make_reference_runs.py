"""Record reference_runs.json: fixed-seed fits whose exact numbers later code must reproduce.

Each run in RUNS is fitted from its seed; its ``history_`` losses and a
``sample(12, random_state=3)`` are stored bit for bit (floats as ``float.hex``).
``tests/test_reference_runs.py`` refits them and compares exactly, so a change
that only reorganises code cannot move a number unnoticed. Rerecord only for a
change meant to alter the numbers, and say so where it is committed:

    python tests/data/make_reference_runs.py
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import SMALL, attribute_frame, mixed_frame  # noqa: E402

from dgkeras import DGSynthesizer  # noqa: E402

REFERENCE = HERE / "reference_runs.json"

#: name -> (data, estimator parameters): the default path, the generator options
#: (packing, weight average, marginal term), DP-SGD with dgkeras' own noise, and
#: variable-length series with categorical features.
RUNS = {
    "plain": ("attributes", dict(epochs=3, batch_size=8)),
    "options": ("attributes", dict(epochs=3, batch_size=8, packing=2, ema_decay=0.5,
                                   marginal_weight=0.5, critic_steps=2)),
    "private": ("attributes", dict(epochs=2, batch_size=8, noise_multiplier=1.0,
                                   dp_noise_source="dgkeras")),
    "mixed": ("mixed", dict(epochs=3, batch_size=5)),
}


def _plain(value):
    if isinstance(value, float):
        return value.hex()
    if hasattr(value, "item"):  # a NumPy scalar
        return _plain(value.item())
    return None if value != value else value  # NaN -> None


def run(name: str) -> dict:
    """Fit run ``name`` from its seed; return its losses and a sample as plain data."""
    data, params = RUNS[name]
    df, schema = attribute_frame() if data == "attributes" else mixed_frame()
    synth = DGSynthesizer(random_state=0, **SMALL, **params).fit(df, schema)
    losses = synth.history_.drop(columns="seconds")
    sample = synth.sample(12, random_state=3)
    return {
        "history": {c: [_plain(v) for v in losses[c]] for c in losses.columns},
        "sample": {c: [_plain(v) for v in sample[c].astype(object)] for c in sample.columns},
    }


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps({name: run(name) for name in RUNS}, indent=1) + "\n")
