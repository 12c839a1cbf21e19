"""Fixed-seed fits reproduce the numbers recorded in tests/data/reference_runs.json, bit for bit.

The numbers depend on the kernels oneDNN picks for the CPU, so they are recorded per CPU
kind; on a CPU kind without a recording, record one from a trusted commit first (see
tests/data/make_reference_runs.py).
"""

import importlib.util
import json

import pytest
from conftest import DATA

_spec = importlib.util.spec_from_file_location("make_reference_runs",
                                               DATA / "make_reference_runs.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


@pytest.mark.parametrize("name", sorted(reference.RUNS))
def test_a_fixed_seed_fit_gives_the_recorded_history_and_sample(name):
    recordings = json.loads(reference.REFERENCE.read_text())
    kind = reference.cpu_kind()
    if kind not in recordings:
        pytest.fail(f"no reference runs recorded for this CPU kind ({kind!r}); record them "
                    "from a commit whose numbers are trusted: python "
                    "tests/data/make_reference_runs.py")
    expected = recordings[kind][name]
    got = reference.run(name)
    assert got["history"].keys() == expected["history"].keys()
    for column, values in expected["history"].items():
        assert got["history"][column] == values, f"history_[{column!r}] of run {name!r}"
    assert list(got["sample"]) == list(expected["sample"])
    for column, values in expected["sample"].items():
        assert got["sample"][column] == values, f"sample column {column!r} of run {name!r}"
