"""The fidelity report: files, numbers that match the metrics, and plots that are images."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from dgkeras import DataError
from dgkeras.metrics import discriminative_score, fidelity_summary, split_series
from dgkeras.report import fidelity_report

PLOTS = ["autocorrelation.png", "attributes.png", "lengths.png", "totals_cdf.png",
         "nearest.png"]


def _shifted(df, column, amount):
    out = df.copy()
    out[column] = out[column] + amount
    return out


def test_report_of_identical_data_is_all_zeros(mba, tmp_path):
    df, schema = mba
    summary = fidelity_report(df, df, schema, tmp_path, by="technology")
    assert summary["plots"] == PLOTS
    assert summary["length_w1"] == 0.0
    assert all(v == 0.0 for v in summary["attribute_jsd"].values())
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in summary["autocorrelation_mse"].values())
    assert all(v == 0.0 for v in summary["traffic_byte_counter total w1 by technology"].values())
    # Every series has its copy: the classifier can do no better than chance.
    assert summary["discriminative_score"] == 0.0
    floor = summary["real_vs_real"]
    assert set(floor) == set(summary) - {"real_series", "synthetic_series", "plots",
                                         "real_vs_real", "giveaways"}
    assert [row["score"] for row in summary["giveaways"]] == [0.0] * 5
    assert 0 < floor["length_w1"] + floor["traffic_byte_counter total w1"]
    assert 0 <= floor["discriminative_score"] < 0.3
    assert floor["predictive_score"] > 0 and summary["predictive_score"] > 0
    for name in PLOTS:
        image = imread(tmp_path / name)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
        # A drawn figure, not a blank canvas.
        assert image[..., :3].std() > 0.05


def test_report_numbers_match_the_metrics(mba, tmp_path):
    df, schema = mba
    fake = _shifted(df, "traffic_byte_counter", 0.01)
    summary = fidelity_report(df, fake, schema, tmp_path, by="technology")
    saved = json.loads((tmp_path / "summary.json").read_text())
    expected = fidelity_summary(df, fake, schema, by=["technology"])
    # A shift of every record by 0.01 moves every 56-record total by 0.56.
    assert saved["traffic_byte_counter total w1"] == pytest.approx(0.56)
    assert saved["traffic_byte_counter total w1"] == pytest.approx(
        expected["traffic_byte_counter total w1"])
    assert saved["traffic_byte_counter midrange w1"] == pytest.approx(0.01)
    assert summary["real_series"] == saved["synthetic_series"] == 600
    first, second = split_series(df, schema, random_state=0)
    expected_floor = fidelity_summary(first, second, schema, by=["technology"])
    assert saved["real_vs_real"]["traffic_byte_counter total w1"] == pytest.approx(
        expected_floor["traffic_byte_counter total w1"])
    assert saved["discriminative_score"] == pytest.approx(
        discriminative_score(df, fake, schema))
    markdown = (tmp_path / "summary.md").read_text()
    floor_total = expected_floor["traffic_byte_counter total w1"]
    assert f"| traffic_byte_counter total w1 | 0.56 | {floor_total:.4g} |" in markdown
    assert "| discriminative_score | " in markdown
    assert "![totals_cdf.png](totals_cdf.png)" in markdown
    # The shift moves every level of the byte counter, none of its changes; ranked first
    # are levels, each with its median 0.01 higher.
    top = saved["giveaways"]
    assert len(top) == 5 and top[0]["score"] >= top[-1]["score"] > 0.05
    assert all(row["summary"].startswith("traffic_byte_counter ") for row in top)
    assert not any(row["summary"].endswith(("std", "change", "autocorrelation")) for row in top)
    assert top[0]["synthetic median"] == pytest.approx(top[0]["real median"] + 0.01)
    assert f"| {top[0]['summary']} | {top[0]['score']:.4g} | " in markdown


def test_report_without_attributes_or_ids(fitted_mixed, tmp_path):
    synth, df, schema = fitted_mixed
    fake = synth.sample(12, random_state=0)
    summary = fidelity_report(df, fake, schema, tmp_path)
    # No attributes: no attribute plot; totals are over all series.
    assert summary["plots"] == [p for p in PLOTS if p != "attributes.png"]
    assert summary["attribute_jsd"] == {}
    assert np.isfinite(summary["length_w1"])
    # Series shorter than the forecaster's window, in halves of 6 series.
    assert summary["discriminative_score"] >= 0 and summary["predictive_score"] > 0
    assert np.isfinite(summary["real_vs_real"]["predictive_score"])
    # Too few series for the floor and the model-fitting scores, and the page says so.
    few = fidelity_report(df, synth.sample(9, random_state=0), schema, tmp_path / "few")
    assert "real_vs_real" not in few and "discriminative_score" not in few
    assert "Too few series for the real-vs-real floor" in (tmp_path / "few" /
                                                           "summary.md").read_text()


def test_report_refuses_a_non_categorical_grouping(mba, tmp_path):
    df, schema = mba
    with pytest.raises(DataError, match="by='traffic_byte_counter' is not a categorical"):
        fidelity_report(df, df, schema, tmp_path, by="traffic_byte_counter")


def test_report_of_series_too_short_to_forecast_has_no_predictive_score(mba, tmp_path):
    df, schema = mba
    short = df[df["period"] < df["period"].min() + pd.Timedelta(days=1)]  # 4 records each
    summary = fidelity_report(df, short, schema, tmp_path)
    assert np.isnan(summary["predictive_score"])
    assert np.isfinite(summary["real_vs_real"]["predictive_score"])
    assert summary["discriminative_score"] > 0.9  # 4 records against 56
    assert "| predictive_score | nan |" in (tmp_path / "summary.md").read_text()
