"""Metrics on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest
from conftest import attribute_frame

from dgkeras import Schema
from dgkeras.metrics import (
    attribute_jsd,
    autocorrelation,
    autocorrelation_mse,
    feature_correlations,
    fidelity_summary,
    memorization_distances,
    series_statistics,
    statistic_w1,
    tstr,
)

SCHEMA = Schema("id", "t", {"kind": "categorical"}, {"x": "continuous", "y": "continuous"})


def _frame(series):
    """series: list of (kind, x values, y values)."""
    rows = [(i, t, kind, x, y) for i, (kind, xs, ys) in enumerate(series)
            for t, (x, y) in enumerate(zip(xs, ys))]
    return pd.DataFrame(rows, columns=["id", "t", "kind", "x", "y"])


def test_autocorrelation_of_a_pure_sine():
    t = np.arange(400)
    period = 20
    sine = np.sin(2 * np.pi * t / period)
    df = _frame([("a", sine, sine), ("b", -sine, sine)])
    acf = autocorrelation(df, SCHEMA, "x", max_lag=60)
    lags = np.arange(61)
    # The definition, term by term (the sine has mean 0 over whole periods).
    direct = [sum(sine[i] * sine[i + k] for i in range(400 - k)) / sum(sine ** 2) for k in lags]
    np.testing.assert_allclose(acf, direct, atol=1e-9)
    # Close to cos(2 pi k / P) * (T - k) / T, up to an O(1/T) boundary term.
    np.testing.assert_allclose(acf, np.cos(2 * np.pi * lags / period) * (400 - lags) / 400,
                               atol=0.01)
    assert acf[0] == pytest.approx(1.0)
    assert acf[10] == pytest.approx(-(390 / 400), abs=1e-3)


def test_autocorrelation_curve_of_series_of_different_lengths_by_hand():
    from dgkeras.metrics import autocorrelation_curve

    values = np.array([[1.0, 2, 3, 4, np.nan], [2, 1, 2, 1, 2], [5, 5, 5, np.nan, np.nan]])
    acf = autocorrelation_curve(values, max_lag=6)
    # Centred: [-1.5, -0.5, 0.5, 1.5] (sum of squares 5) and [0.4, -0.6, 0.4, -0.6, 0.4]
    # (1.2); the constant third series is left out. Lag 4 only the second one reaches,
    # lags 5 and 6 none.
    first = [5, 0.75 - 0.25 + 0.75, -0.75 - 0.75, -2.25, None]
    second = [1.2, -0.24 * 4, 0.16 + 0.36 + 0.16, -0.24 * 2, 0.16]
    expected = [(first[k] / 5 + second[k] / 1.2) / 2 for k in range(4)] + [second[4] / 1.2]
    np.testing.assert_allclose(acf[:5], expected, atol=1e-12)
    assert np.isnan(acf[5:]).all()


def test_autocorrelation_mse_zero_for_identical_and_known_for_different():
    t = np.arange(100)
    sine = np.sin(2 * np.pi * t / 10)
    df = _frame([("a", sine, sine)])
    assert autocorrelation_mse(df, df, SCHEMA) == {"x": 0.0, "y": 0.0}
    noise = np.random.default_rng(0).normal(size=100)
    other = _frame([("a", sine, noise)])
    mse = autocorrelation_mse(df, other, SCHEMA, max_lag=20)
    assert mse["x"] == 0.0 and mse["y"] > 0.1


def test_attribute_jsd_identical_disjoint_and_known():
    a = _frame([("p", [1, 2], [1, 2]), ("q", [1, 2], [1, 2])])
    b = _frame([("r", [1, 2], [1, 2]), ("r", [1, 2], [1, 2])])
    assert attribute_jsd(a, a, SCHEMA) == {"kind": 0.0}
    assert attribute_jsd(a, b, SCHEMA)["kind"] == pytest.approx(1.0)
    c = _frame([("p", [1, 2], [1, 2]), ("p", [1, 2], [1, 2])])
    # P = (1/2, 1/2), Q = (1, 0), M = (3/4, 1/4): JSD = (KL(P||M) + KL(Q||M)) / 2 in bits.
    expected = 0.5 * (0.5 * np.log2(0.5 / 0.75) + 0.5 * np.log2(0.5 / 0.25)) \
        + 0.5 * (1.0 * np.log2(1.0 / 0.75))
    assert attribute_jsd(a, c, SCHEMA)["kind"] == pytest.approx(expected)


def test_series_statistics_and_shifted_w1():
    df = _frame([("p", [1.0, 3.0, 5.0], [0, 0, 0]), ("q", [2.0, 2.0], [1, 1])])
    stats = series_statistics(df, SCHEMA)
    assert stats["x total"].tolist() == [9.0, 4.0]
    assert stats["x midrange"].tolist() == [3.0, 2.0]
    assert stats["length"].tolist() == [3, 2]
    shifted = df.assign(x=df["x"] + 0.5)
    # Every total grows by 0.5 per record: 1.5 and 1.0, mean shift 1.25.
    assert statistic_w1(df, shifted, SCHEMA, "x total")["all"] == pytest.approx(1.25)
    assert statistic_w1(df, shifted, SCHEMA, "x midrange")["all"] == pytest.approx(0.5)
    by = statistic_w1(df, shifted, SCHEMA, "x total", by="kind")
    assert by == {"p": pytest.approx(1.5), "q": pytest.approx(1.0)}
    assert statistic_w1(df, df, SCHEMA, "length")["all"] == 0.0


def test_feature_correlations():
    t = np.arange(50, dtype=float)
    df = _frame([("p", t, 2 * t + 1), ("q", t, -t), ("r", t, np.ones(50))])
    np.testing.assert_allclose(feature_correlations(df, SCHEMA, "x", "y"), [1.0, -1.0])


def test_tstr_on_separable_classes_and_rank_correlation():
    rng = np.random.default_rng(0)
    series = [(k, rng.normal(3.0 if k == "hi" else 0.0, 0.3, 8), rng.normal(0, 1, 8))
              for k in ["hi", "lo"] * 30]
    df = _frame(series)
    train, test = df[df["id"] < 40], df[df["id"] >= 40]
    table = tstr(train, train, test, SCHEMA, "kind")
    assert (table["real_accuracy"] >= 0.95).all()
    assert (table["synthetic_accuracy"] == table["real_accuracy"]).all()
    flipped = train.assign(kind=train["kind"].map({"hi": "lo", "lo": "hi"}))
    assert (tstr(train, flipped, test, SCHEMA, "kind")["synthetic_accuracy"] <= 0.05).all()


def test_memorization_distances_flag_copies():
    df, schema = attribute_frame(n_series=40, length=5, seed=2)
    train, holdout = df[df["id"] < 120], df[df["id"] >= 120]
    copies = train.assign(id=train["id"] + 1000)
    result = memorization_distances(train, holdout, copies, schema)
    assert np.allclose(result["synthetic_to_train"], 0, atol=1e-6)
    assert (result["holdout_to_train"] > 0).all()


def test_fidelity_summary_of_identical_data_is_zero():
    df, schema = attribute_frame(n_series=20, length=6)
    summary = fidelity_summary(df, df, schema, by=["region"])
    assert summary["autocorrelation_mse"] == {"usage": 0.0}
    assert summary["attribute_jsd"] == {"region": 0.0, "premium": 0.0, "size": 0.0}
    assert summary["length_w1"] == 0.0 and summary["usage total w1"] == 0.0
    assert set(summary["usage total w1 by region"].values()) == {0.0}
