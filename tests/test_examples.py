"""The examples run end to end in their quick mode."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, args, expected", [
    ("mba_quickstart.py", ["--quick", "--output", "fake.csv"], "10 homes with"),
    ("plaid_variable_length.py", [str(ROOT / "tests" / "data" / "plaid_subset.ts"), "--quick"],
     "synthetic: series length by class"),
])
def test_example_quick_mode(script, args, expected, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout
