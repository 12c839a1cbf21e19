"""The demo command, run as a user would."""

import os
import subprocess
import sys

import pandas as pd

from dgkeras.datasets import load_fcc_mba


def _dgkeras(*args, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "dgkeras", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_demo_writes_csv_model_and_summary(tmp_path):
    result = _dgkeras("demo", "-o", "out", "--epochs", "2", "-n", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    fake = pd.read_csv(out / "synthetic_fcc_mba.csv", parse_dates=["period"])
    real, schema = load_fcc_mba()
    assert list(fake.columns) == list(real.columns)
    assert fake["home_id"].nunique() == 30 and fake["home_id"].min() >= 600
    assert set(fake["technology"]) <= set(real["technology"])
    summary = (out / "summary.txt").read_text()
    for expected in ("attribute 'technology'", "mean per-series total by 'technology'",
                     "per-step mean", "Satellite"):
        assert expected in summary and expected in result.stdout
    assert (out / "model.dgk").stat().st_size > 100_000

    again = _dgkeras("demo", "-o", "out", "--epochs", "1", cwd=tmp_path)
    assert again.returncode == 2 and "pass --overwrite" in again.stderr
    assert pd.read_csv(out / "synthetic_fcc_mba.csv")["home_id"].nunique() == 30


def test_help_lists_demo():
    result = subprocess.run([sys.executable, "-m", "dgkeras", "demo", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--epochs" in result.stdout and "--overwrite" in result.stdout
