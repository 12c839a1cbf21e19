"""Discriminative and predictive scores, per-series summaries and the real-vs-real split."""

import numpy as np
import pandas as pd
import pytest

from dgkeras import DataError, Schema
from dgkeras.metrics import (
    discriminative_score,
    predictive_score,
    series_summaries,
    split_series,
    summary_giveaways,
)

SCHEMA = Schema("id", "t", {"kind": "categorical"}, {"x": "continuous", "mode": "categorical"})


def draw(n: int = 160, length: int = 30, seed: int = 0, id_offset: int = 0) -> pd.DataFrame:
    """Series of an AR(1) process around a level set by the kind, with a mode per record."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(["a", "b"], n)
    level = np.where(kind == "a", 1.0, 4.0)
    x = np.empty((n, length))
    x[:, 0] = level + rng.normal(0, 1, n)
    for t in range(1, length):
        x[:, t] = level + 0.95 * (x[:, t - 1] - level) + rng.normal(0, 0.3, n)
    return pd.DataFrame({
        "id": np.repeat(np.arange(n) + id_offset, length),
        "t": np.tile(np.arange(length), n),
        "kind": np.repeat(kind, length),
        "x": x.ravel(),
        "mode": np.where(x.ravel() > np.repeat(level, length), "up", "down"),
    })


def test_summaries_hold_hand_computed_statistics_in_id_order():
    df = pd.DataFrame({"id": [7, 7, 7, 7, 3, 3], "t": [0, 1, 2, 3, 0, 1],
                       "kind": ["a"] * 4 + ["b"] * 2, "x": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0],
                       "mode": ["up", "up", "down", "up", "down", "down"]})
    shuffled = df.sample(frac=1.0, random_state=1)
    table = series_summaries(shuffled, SCHEMA, {"kind": pd.Index(["a", "b"]),
                                                "mode": pd.Index(["up", "down"])})
    second = table.iloc[1]  # series 7, after series 3
    assert table["length"].tolist() == [2.0, 4.0]
    assert table["kind"].tolist() == [1.0, 0.0]
    assert second["x mean"] == 2.5 and second["x min"] == 1 and second["x max"] == 4
    assert second["x first"] == 1 and second["x last"] == 4
    assert second["x std"] == pytest.approx(np.sqrt(1.25))
    assert second["x q50"] == pytest.approx(2.5)
    # Centred (-1.5, -0.5, 0.5, 1.5): lag-1 products 0.75 - 0.25 + 0.75 over energy 5.
    assert second["x lag-1 autocorrelation"] == pytest.approx(0.25)
    assert second["x mean absolute change"] == 1.0
    assert second["mode share up"] == 0.75 and second["mode share down"] == 0.25
    constant = table.iloc[0]
    assert constant["x lag-1 autocorrelation"] == 0.0 and constant["mode share down"] == 1.0


def test_split_series_partitions_whole_series():
    df = draw(n=41)
    first, second = split_series(df, SCHEMA, random_state=3)
    a, b = set(first["id"]), set(second["id"])
    assert len(a) == 20 and len(b) == 21 and not a & b and a | b == set(df["id"])
    assert len(first) + len(second) == len(df)
    assert (first.groupby("id").size() == 30).all()
    again, _ = split_series(df, SCHEMA, random_state=3)
    pd.testing.assert_frame_equal(first, again)
    assert set(split_series(df, SCHEMA, random_state=4)[0]["id"]) != a
    with pytest.raises(DataError, match="no id_column"):
        split_series(df, Schema(None, "t", {}, {"x": "continuous"}))
    with pytest.raises(DataError, match="at least 2 series, got 1"):
        split_series(df[df["id"] == 0], SCHEMA)


def test_discriminative_score_is_low_for_the_same_process_and_high_for_a_shifted_one():
    real, same = draw(seed=0), draw(seed=1, id_offset=1000)
    floor = discriminative_score(*split_series(real, SCHEMA), SCHEMA)
    assert floor < 0.25
    assert discriminative_score(real, same, SCHEMA) < 0.25
    # Copies share a fold with the series they copy: exactly chance.
    assert discriminative_score(real, real.assign(id=real["id"] + 1000), SCHEMA) == 0.0
    shifted = same.assign(x=same["x"] + 1.5)
    assert discriminative_score(real, shifted, SCHEMA) > 0.8
    # Temporal structure alone: the same values in each series, shuffled in time.
    rng = np.random.default_rng(5)
    shuffled = same.assign(x=same.groupby("id")["x"].transform(
        lambda v: rng.permutation(v.to_numpy())))
    assert discriminative_score(real, shuffled, SCHEMA) > 0.8


def test_discriminative_score_balances_the_sets_and_needs_enough_series():
    real = draw(seed=0)
    # Four times as many synthetic series from the same process: still near chance.
    many = draw(n=640, seed=2, id_offset=1000)
    assert discriminative_score(real, many, SCHEMA) < 0.25
    with pytest.raises(DataError, match="n_splits=5 series in each set, got 160 real and 4"):
        discriminative_score(real, many[many["id"] < 1004], SCHEMA)


def test_summary_giveaways_by_hand():
    # Series 0..3 of x = 1, 2, 3, 4 (two records each) against 3, 4, 5, 6: at the
    # threshold 2 the real CDF is 1/2 and the synthetic 0, the largest gap.
    def frame(levels, kinds, offset=0):
        return pd.DataFrame({"id": np.repeat(np.arange(len(levels)) + offset, 2),
                             "t": np.tile([0, 1], len(levels)),
                             "kind": np.repeat(kinds, 2), "x": np.repeat(levels, 2),
                             "mode": "up"})

    real = frame([1.0, 2.0, 3.0, 4.0], ["a", "b", "a", "b"])
    synth = frame([3.0, 4.0, 5.0, 6.0], ["a", "a", "a", "a"], offset=10)
    table = summary_giveaways(real, synth, SCHEMA, random_state=0)
    assert table.loc["x mean", "score"] == 0.5
    assert table.loc["x mean", "real median"] == 2.5
    assert table.loc["x mean", "synthetic median"] == 4.5
    # The floor compares the halves of split_series: two levels each.
    first, _ = split_series(real, SCHEMA, random_state=0)
    half = tuple(sorted(first.groupby("id")["x"].first()))
    apart = {(1.0, 2.0), (3.0, 4.0)}  # one threshold splits them: 1, else 1/2
    assert table.loc["x mean", "floor"] == (1.0 if half in apart else 0.5)
    # Half the synthetic kinds are "a" against half the real: total variation 1/2.
    assert table.loc["kind", "score"] == 0.5 and np.isnan(table.loc["kind", "real median"])
    # Both sets have constant series of two records.
    assert table.loc["x std", "score"] == 0.0 and table.loc["length", "score"] == 0.0
    assert list(table.columns) == ["score", "floor", "real median", "synthetic median"]
    assert table["score"].is_monotonic_decreasing


def test_summary_giveaways_names_what_differs_and_its_floor_is_noise():
    real, same = draw(seed=0), draw(seed=1, id_offset=1000)
    table = summary_giveaways(real, same, SCHEMA)
    assert table["score"].max() < 0.25 and table["floor"].max() < 0.3
    # Every record 10 higher, beyond every real level: the levels give the sets away
    # to one threshold, the changes do not.
    shifted = summary_giveaways(real, same.assign(x=same["x"] + 10), SCHEMA)
    assert shifted.loc["x q50", "score"] == 1.0 and shifted.loc["x mean", "score"] == 1.0
    assert shifted.loc["x mean", "synthetic median"] > shifted.loc["x mean", "real median"] + 9
    assert shifted.loc["x mean absolute change", "score"] < 0.25
    assert shifted.loc["x lag-1 autocorrelation", "score"] < 0.25
    pd.testing.assert_series_equal(shifted["floor"].sort_index(), table["floor"].sort_index())
    # Shuffled in time: the lag-1 autocorrelation leads, the levels stay.
    rng = np.random.default_rng(5)
    shuffled = summary_giveaways(real, same.assign(x=same.groupby("id")["x"].transform(
        lambda v: rng.permutation(v.to_numpy()))), SCHEMA)
    assert shuffled.index[0] in ("x lag-1 autocorrelation", "x mean absolute change")
    assert shuffled.loc["x lag-1 autocorrelation", "score"] > 0.8
    assert shuffled.loc["x mean", "score"] < 0.25


def test_predictive_score_near_its_floor_for_the_same_process_and_worse_without_dynamics():
    real = draw(seed=0)
    train_half, test_half = split_series(real, SCHEMA)
    floor = predictive_score(train_half, test_half, SCHEMA)
    same = predictive_score(draw(seed=1, id_offset=1000), test_half, SCHEMA)
    assert same == pytest.approx(floor, rel=0.15)
    rng = np.random.default_rng(5)
    other = draw(seed=1, id_offset=1000)
    shuffled = other.assign(x=other.groupby("id")["x"].transform(
        lambda v: rng.permutation(v.to_numpy())))
    assert predictive_score(shuffled, test_half, SCHEMA) > 1.15 * floor
    # A forecast of constant series is exact.
    flat = real.assign(x=real["kind"].map({"a": 1.0, "b": 4.0}))
    assert predictive_score(flat, flat, SCHEMA) < 1e-3


def test_predictive_score_refuses_what_it_cannot_forecast():
    real = draw(n=20, length=4)
    with pytest.raises(DataError, match="schema has none"):
        predictive_score(real, real, Schema("id", "t", {"kind": "categorical"},
                                            {"mode": "categorical"}))
    with pytest.raises(DataError, match="no train series is longer than horizon=4 records"):
        predictive_score(real, draw(n=20, length=40), SCHEMA, horizon=4)


@pytest.mark.parametrize("module", ["dgkeras.model_scores", "dgkeras.metrics",
                                    "dgkeras.report"])
def test_each_scoring_module_imports_first_in_a_fresh_process(module):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
