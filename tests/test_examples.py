"""The examples run end to end in their quick mode."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, args, expected", [
    ("mba_quickstart.py", ["--quick", "--output", "fake.csv"], "10 homes with"),
    ("plaid_variable_length.py", [str(ROOT / "tests" / "data" / "plaid_subset.ts"), "--quick"],
     "synthetic: series length by class"),
    ("conditional_generation.py", ["--quick"], "5 satellite homes, one week each: 140 records"),
    ("attribute_retraining.py", ["--quick"],
     "series generated for the same five DSL homes are unchanged: True"),
    ("dp_training.py", ["--quick"], "target epsilon 10.0: spent epsilon"),
    ("multi_worker.py", ["--quick"], "the chief saved multi_worker_model.dgk"),
])
def test_example_quick_mode(script, args, expected, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout


def test_fidelity_benchmark_quick_mode_scores_every_model(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fidelity.py"), "--quick",
                             "--workload", "mba"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("  workload")]
    rows = [line.split() for line in lines]
    models = [re.search(r"  model (.+?)  ", line).group(1) for line in lines]
    assert models == ["dgkeras", "dgkeras minmax log", "dgkeras minmax log_min ema", "AR", "RNN",
                      "naive GAN"]
    # Each row carries the Table 2 figures and a training time.
    for row in rows:
        assert "W1 total DSL" in " ".join(row) and float(row[-1]) > 0
