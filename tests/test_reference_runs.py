"""Fixed-seed fits reproduce the numbers recorded in tests/data/reference_runs.json.

The last bits depend on the kernels oneDNN picks for the CPU, so the numbers are
recorded per CPU kind. On a recorded CPU kind a refit must match bit for bit. On
another, it must match one of the recordings within ``OTHER_CPU_RTOL``: the
recorded kinds agree to about 1e-7 (relative) where they differ at all, in the
DP-SGD run's generator loss, while a change to what the code computes moves
these numbers by far more. Record a new CPU kind from a commit whose numbers
are trusted (see tests/data/make_reference_runs.py).
"""

import importlib.util
import json
import re

import pytest
from conftest import DATA

_spec = importlib.util.spec_from_file_location("make_reference_runs",
                                               DATA / "make_reference_runs.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

#: Relative tolerance against the recordings of other CPU kinds.
OTHER_CPU_RTOL = 1e-5
#: How the recordings write a float (``float.hex``).
_HEX_FLOAT = re.compile(r"-?0x[0-9a-f]+(\.[0-9a-f]*)?p[+-]\d+$")


def _differences(got: dict, expected: dict, rtol: float) -> list:
    """Where a run's history and sample differ from a recording (within ``rtol`` for floats)."""
    if got["history"].keys() != expected["history"].keys():
        return [f"history_ columns {list(got['history'])} != {list(expected['history'])}"]
    if list(got["sample"]) != list(expected["sample"]):
        return [f"sample columns {list(got['sample'])} != {list(expected['sample'])}"]
    return [f"{part} column {column!r}"
            for part in ("history", "sample")
            for column, values in expected[part].items()
            if not _close(got[part][column], values, rtol)]


def _close(got: list, expected: list, rtol: float) -> bool:
    if rtol == 0 or len(got) != len(expected):
        return got == expected
    for a, b in zip(got, expected):
        if isinstance(a, str) and isinstance(b, str) and _HEX_FLOAT.match(a) \
                and _HEX_FLOAT.match(b):
            if float.fromhex(a) != pytest.approx(float.fromhex(b), rel=rtol, abs=1e-12):
                return False
        elif a != b:
            return False
    return True


@pytest.mark.parametrize("name", sorted(reference.RUNS))
def test_a_fixed_seed_fit_gives_the_recorded_history_and_sample(name):
    recordings = json.loads(reference.REFERENCE.read_text())
    got = reference.run(name)
    kind = reference.cpu_kind()
    if kind in recordings:
        differences = _differences(got, recordings[kind][name], rtol=0)
        assert not differences, f"run {name!r} differs from its recording in {differences}"
    else:
        mismatches = {other: _differences(got, runs[name], OTHER_CPU_RTOL)
                      for other, runs in recordings.items()}
        assert any(not found for found in mismatches.values()), (
            f"run {name!r} on an unrecorded CPU kind ({kind!r}) is not within "
            f"{OTHER_CPU_RTOL} of any recording: {mismatches}")


def test_the_comparison_tells_a_moved_number_from_kernel_noise():
    recorded = {"history": {"loss": [(1.5).hex(), (-2.25).hex()]},
                "sample": {"kind": ["a", "0x1p+0"], "value": [(3.0).hex(), None]}}
    noisy = json.loads(json.dumps(recorded))
    noisy["history"]["loss"][0] = (1.5 * (1 + 1e-7)).hex()
    moved = json.loads(json.dumps(recorded))
    moved["history"]["loss"][1] = (-2.25 * (1 + 1e-3)).hex()
    relabelled = json.loads(json.dumps(recorded))
    relabelled["sample"]["kind"][0] = "b"
    assert _differences(recorded, recorded, rtol=0) == []
    assert _differences(noisy, recorded, rtol=0) == ["history column 'loss'"]
    assert _differences(noisy, recorded, OTHER_CPU_RTOL) == []
    assert _differences(moved, recorded, OTHER_CPU_RTOL) == ["history column 'loss'"]
    assert _differences(relabelled, recorded, OTHER_CPU_RTOL) == ["sample column 'kind'"]
