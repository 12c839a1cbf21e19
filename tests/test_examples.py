"""The examples run end to end in their quick mode."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
from docutils import nodes
from docutils.core import publish_doctree

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
    # The peers' venvs pointed somewhere empty: they are named and left out.
    missing = [arg for name in ("dgan", "par", "argn")
               for arg in (f"--{name}-venv", str(tmp_path / name))]
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fidelity.py"), "--quick",
                             "--workload", "mba", "--giveaways", "2", *missing],
                            cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("  workload")]
    models = [re.search(r"  model (.+?)  seed", line).group(1) for line in lines]
    # The defaults only, and the floor.
    assert models == ["dgkeras", "AR", "RNN", "naive GAN", "real vs real"]
    for peer in ("gretel DGAN", "SDV PAR", "TabularARGN"):
        assert f"  {peer}: no venv at {tmp_path}" in result.stdout
    # Each row carries the table's figures; every model but the floor a training time.
    for line, model in zip(lines, models):
        figures = dict(re.findall(r"  ([A-Za-z][\w ]*?) (-?[0-9.e+-]+|nan)(?=  |$)", line))
        for name in ("W1 total DSL", "discriminative", "predictive", "JSD attributes",
                     "autocorr MSE", "W1 length"):
            assert name in figures, (model, name)
        assert 0 <= float(figures["discriminative"]) <= 1
        assert (figures["train s"] == "nan") == (model == "real vs real")
    assert "MBA: mean ± standard deviation over 1 seed\n" in result.stdout
    # Under each model's row (not the floor's), its two summaries that differ most.
    out = result.stdout.splitlines()
    headers = [i for i, line in enumerate(out) if line.split() == ["score", "floor", "real",
                                                                  "median", "synthetic",
                                                                  "median"]]
    assert len(headers) == 4
    for i in headers:
        scores = [float(out[i + k].split()[-4]) for k in (1, 2)]
        assert 1 >= scores[0] >= scores[1] >= 0 and out[i - 1].startswith("  workload")


def _benchmark_rows(stdout: str) -> dict:
    """Each printed row of the fidelity benchmark, by model."""
    return {re.search(r"  model (.+?)  seed", line).group(1): line
            for line in stdout.splitlines() if line.startswith("  workload")}


def test_fidelity_benchmark_takes_logged_runs_from_its_log(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = tmp_path / "runs.jsonl"

    def run(*args):
        result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fidelity.py"),
                                 "--quick", "--workload", "mba", "--log", str(log), *args],
                                cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return _benchmark_rows(result.stdout)

    first = run("--models", "AR", "real vs real")
    assert len(log.read_text().splitlines()) == 2
    assert not any("from the log" in line for line in first.values())
    # Again with one more model: the two logged runs are read back with the same
    # figures, only the new one runs and is added.
    second = run("--models", "AR", "RNN", "real vs real")
    assert len(log.read_text().splitlines()) == 3
    for model in ("AR", "real vs real"):
        assert "from the log" in second[model]
        assert second[model].split("  (from the log")[0] == first[model]
    assert "from the log" not in second["RNN"]
    # Other dgkeras settings are another run: nothing is taken from the log.
    third = run("--models", "AR", "--dgkeras-param", "epochs=2")
    assert "from the log" not in third["AR"]
    assert len(log.read_text().splitlines()) == 4
    # A model named in --rerun runs again, and its new row is the one read back after.
    fourth = run("--models", "AR", "RNN", "--rerun", "RNN")
    assert "from the log" in fourth["AR"] and "from the log" not in fourth["RNN"]
    fifth = run("--models", "RNN")
    assert fifth["RNN"].split("  (from the log")[0] == fourth["RNN"]
    assert len(log.read_text().splitlines()) == 5
    # A row cut short (a run stopped while writing it) is passed over, not a crash.
    with log.open("a") as f:
        f.write('{"workload": "mba", "model": "AR", "se')
    sixth = run("--models", "RNN", "real vs real")
    assert "from the log" in sixth["RNN"] and "from the log" in sixth["real vs real"]
    # ... and a new run's row after it is whole and read back.
    run("--models", "naive GAN")
    assert "from the log" in run("--models", "naive GAN")["naive GAN"]
    # --rst: the summary as the docs' table, a row per model under the header, with the
    # logged figures and "n/a" for the floor's training time.
    tables = tmp_path / "tables.rst"
    run("--models", "AR", "real vs real", "--rst", str(tables))
    tree = publish_doctree(tables.read_text(), settings_overrides={"halt_level": 2})
    rows = [[entry.astext() for entry in row.findall(nodes.entry)]
            for row in tree.findall(nodes.row)]
    header = rows[0]
    assert header[:3] == ["model", "seeds", "autocorr MSE"] and header[-1] == "train s"
    assert [row[0] for row in rows[1:]] == ["AR", "real vs real"]
    logged = [json.loads(line) for line in log.read_text().splitlines()[:2]]
    for row, run_row in zip(rows[1:], logged):
        for column in ("discriminative", "autocorr MSE", "W1 total DSL"):
            assert row[header.index(column)] == f"{run_row[column]:.4g}"
    assert rows[2][-1] == "n/a" and float(rows[1][-1]) > 0
