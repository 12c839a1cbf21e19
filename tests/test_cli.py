"""The demo command, run as a user would."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SMALL

from dgkeras import DGSynthesizer
from dgkeras.cli import main
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
                     "per-step mean", "Satellite", "discriminative score "):
        assert expected in summary and expected in result.stdout
    assert (out / "model.dgk").stat().st_size > 100_000
    report = json.loads((out / "report" / "summary.json").read_text())
    assert report["synthetic_series"] == 30 and report["real_series"] == 600
    # Two epochs: a classifier tells the series apart far better than two real halves.
    line = re.search(r"discriminative score ([0-9.]+) \(two halves of the real data: "
                     r"([0-9.]+);", result.stdout)
    assert float(line.group(1)) == pytest.approx(report["discriminative_score"], abs=0.005)
    assert float(line.group(2)) < 0.2 < float(line.group(1))
    assert set(report["traffic_byte_counter total w1 by technology"]) == {
        "Cable", "DSL", "Fiber", "Satellite"}
    assert sorted(p.name for p in (out / "report").glob("*.png")) == [
        "attributes.png", "autocorrelation.png", "lengths.png", "nearest.png",
        "totals_cdf.png"]

    again = _dgkeras("demo", "-o", "out", "--epochs", "1", cwd=tmp_path)
    assert again.returncode == 2 and "pass --overwrite" in again.stderr
    assert pd.read_csv(out / "synthetic_fcc_mba.csv")["home_id"].nunique() == 30


def test_help_lists_demo():
    result = subprocess.run([sys.executable, "-m", "dgkeras", "demo", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--epochs" in result.stdout and "--overwrite" in result.stdout


@pytest.fixture(scope="module")
def small_mba_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    df, schema = load_fcc_mba()
    df[df["home_id"] < 40].to_csv(folder / "mba.csv", index=False)
    (folder / "schema.json").write_text(json.dumps(schema.to_dict()))
    small = DGSynthesizer(epochs=1, random_state=0, **SMALL).fit(df[df["home_id"] < 40], schema)
    small.save(folder / "small.dgk")
    return folder


def test_infer_fit_sample_report_round_trip(small_mba_csv):
    folder = small_mba_csv
    infer = _dgkeras("schema", "infer", "mba.csv", "--id", "home_id", "--time", "period",
                     cwd=folder)
    assert infer.returncode == 0, infer.stderr[-3000:]
    schema = json.loads(infer.stdout)
    assert schema == load_fcc_mba()[1].to_dict()
    (folder / "schema.json").write_text(infer.stdout)

    fit = _dgkeras("fit", "mba.csv", "--schema", "schema.json", "-o", "model.dgk", "--epochs",
                   "3", "--seed", "0", "--param", "lstm_units=16", "--param",
                   "critic_units=[32, 32]", "--verbose", "2", cwd=folder)
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "fitted 40 series" in fit.stdout and (folder / "model.dgk").exists()
    assert [line.split()[1] for line in fit.stderr.splitlines()
            if line.startswith("epoch ")] == ["1/3", "2/3", "3/3"]

    for output in ("fake.csv", "fake.parquet"):
        sample = _dgkeras("sample", "model.dgk", "-n", "25", "-o", output, "--seed", "1",
                          cwd=folder)
        assert sample.returncode == 0, sample.stderr[-3000:]
    csv = pd.read_csv(folder / "fake.csv", parse_dates=["period"])
    parquet = pd.read_parquet(folder / "fake.parquet")
    # The training table's columns, in its order.
    assert csv["home_id"].nunique() == 25
    assert list(csv.columns) == list(pd.read_csv(folder / "mba.csv", nrows=1).columns)
    pd.testing.assert_frame_equal(csv, parquet.astype(csv.dtypes.to_dict()))

    attrs = csv.groupby("home_id")[["isp", "technology", "state"]].first().iloc[:5]
    attrs.to_csv(folder / "attrs.csv", index=False)
    given = _dgkeras("sample", "model.dgk", "--attributes", "attrs.csv", "-o", "given.csv",
                     "--length", "10", cwd=folder)
    assert given.returncode == 0, given.stderr[-3000:]
    out = pd.read_csv(folder / "given.csv")
    assert out.groupby("home_id", sort=False)["technology"].first().tolist() == \
        attrs["technology"].tolist()
    assert (out.groupby("home_id").size() == 10).all()

    report = _dgkeras("report", "mba.csv", "fake.parquet", "--schema", "schema.json", "-o",
                      "report", "--by", "technology", cwd=folder)
    assert report.returncode == 0, report.stderr[-3000:]
    summary = json.loads((folder / "report" / "summary.json").read_text())
    assert summary["real_series"] == 40 and summary["synthetic_series"] == 25


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.csv", "--schema", "schema.json", "-o", "m.dgk"],
     "'missing.csv' does not exist or is not a file"),
    (["fit", "mba.csv", "--schema", "nothing.json", "-o", "m.dgk"],
     "schema file 'nothing.json' does not exist"),
    (["fit", "mba.csv", "--schema", "schema.json", "-o", "mba.csv"],
     "output 'mba.csv' is one of the input files"),
    (["fit", "mba.csv", "--schema", "schema.json", "-o", "m.dgk", "--param", "colour=red"],
     "unknown hyperparameter"),
    (["fit", "mba.csv", "--schema", "schema.json", "-o", "m.dgk", "--epochs", "0"],
     "epochs must be a positive integer, got 0"),
    (["sample", "small.dgk", "-o", "x.csv"], "give -n, the number of series, or --attributes"),
    (["sample", "small.dgk", "-n", "3", "-o", "x.xlsx"], "choose a .csv, .csv.gz or .parquet"),
    (["sample", "absent.dgk", "-n", "3", "-o", "x.csv"], "No such file or directory"),
    (["sample", "small.dgk", "-n", "3", "-o", "small.dgk"], "is one of the input files"),
    (["report", "mba.csv", "absent.csv", "--schema", "schema.json", "-o", "r"],
     "'absent.csv' does not exist"),
    (["schema", "infer", "mba.csv", "--id", "nope"], "id_column 'nope' is not a column"),
    (["sample", "schema.json", "-n", "3", "-o", "x.csv"], "is not a readable dgkeras model"),
])
def test_errors_exit_2_with_a_message(small_mba_csv, args, message, capsys, monkeypatch):
    """In-process (the same main() the console script runs), to spare a TF start-up each."""
    folder = small_mba_csv
    monkeypatch.chdir(folder)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (folder / "x.csv").exists()


@pytest.mark.parametrize("command", [["fit"], ["sample"], ["report"], ["schema", "infer"],
                                     ["demo"]])
def test_every_subcommand_has_help(command):
    result = subprocess.run([sys.executable, "-m", "dgkeras", *command, "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: dgkeras " +
                                                               " ".join(command))
