"""Record reference_runs.json: fixed-seed fits whose exact numbers later code must reproduce.

Each run in RUNS is fitted from its seed; its ``history_`` losses and a
``sample(12, random_state=3)`` are stored bit for bit (floats as ``float.hex``).
``tests/test_reference_runs.py`` refits them and compares exactly, so a change
that only reorganises code cannot move a number unnoticed.

The last bits depend on the kernels oneDNN picks for the CPU, so the file
holds one recording per CPU kind (:func:`cpu_kind`); this script records the
current one and keeps the others. Record a new CPU kind from a commit whose
numbers are trusted (the one before a change under test):

    python tests/data/make_reference_runs.py

Rerecord only for a change meant to alter the numbers, and say so where it is
committed. With ``--replace`` the recordings of other CPU kinds, which this
machine cannot refit, are dropped; those kinds are then checked against this
one within the test's tolerance:

    python tests/data/make_reference_runs.py --replace
"""

import json
import pathlib
import platform
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


def cpu_kind() -> str:
    """The machine and the CPU's vector-instruction flags, which pick the kernels."""
    flags = set()
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                break
    vector = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sve", "asimd")))
    return f"{platform.machine()}: {' '.join(vector)}"


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
    keep_others = "--replace" not in sys.argv[1:]
    recordings = json.loads(REFERENCE.read_text()) if REFERENCE.exists() and keep_others else {}
    recordings[cpu_kind()] = {name: run(name) for name in RUNS}
    REFERENCE.write_text(json.dumps(recordings, indent=1) + "\n")
