"""Learned timestamps: start times and gaps generated, exact round trips, valid samples."""

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL

from dgkeras import DataError, DGSynthesizer, Schema
from dgkeras.encoding import Encoder


def irregular_frame(kind="datetime", n_series=12, seed=0):
    """Series starting at different times with irregular gaps of whole hours."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        start = int(rng.integers(0, 200))
        steps = np.cumsum(rng.integers(1, 7, size=int(rng.integers(3, 10))))
        for hour in start + np.concatenate([[0], steps[:-1]]):
            rows.append((f"s{s}", int(hour), ["a", "b"][s % 2], float(rng.gamma(2.0))))
    df = pd.DataFrame(rows, columns=["sid", "hour", "kind", "load"])
    if kind == "datetime":
        df["hour"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(df["hour"], unit="h")
    elif kind == "datetime-tz":
        df["hour"] = (pd.Timestamp("2024-03-01", tz="Europe/Berlin")
                      + pd.to_timedelta(df["hour"], unit="h"))
    elif kind == "float":
        df["hour"] = df["hour"] * 0.25
    schema = Schema("sid", "hour", {"kind": "categorical"}, {"load": "continuous"})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True), schema


def test_the_placeholder_gap_is_a_gap_within_a_series_whatever_the_row_order():
    df, schema = irregular_frame("int", n_series=30)  # rows shuffled
    gaps = df.sort_values(["sid", "hour"]).groupby("sid")["hour"].diff().dropna()
    assert gaps.min() == 1 and gaps.max() == 6
    encoder = Encoder(schema, time_mode="learned").fit(df)
    assert encoder.learned_time_.placeholder_gap == gaps.median()
    # The gap column spans the real gaps only, so no generated gap is below the smallest.
    gap_column = next(c for c in encoder.continuous_features if c.name == "hour gap")
    assert (gap_column.min, gap_column.max) == (1.0, 6.0)


@pytest.mark.parametrize("kind", ["datetime", "datetime-tz", "int", "float"])
def test_learned_times_round_trip_exactly(kind):
    df, schema = irregular_frame(kind)
    encoder = Encoder(schema, time_mode="learned").fit(df)
    data = encoder.transform(df)
    back = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    assert list(back.columns) == list(df.columns)
    assert back["hour"].dtype == df["hour"].dtype
    first_seen = pd.unique(df["sid"])
    back["sid"] = back["sid"].map(dict(zip(pd.unique(back["sid"]), first_seen)))
    key = ["sid", "hour"]
    real = df.sort_values(key).reset_index(drop=True)
    back = back.sort_values(key).reset_index(drop=True)
    pd.testing.assert_series_equal(back["hour"], real["hour"])
    # (max+min)/2 and max-min of load and of the gap feature, then the start time.
    assert data.minmax.shape[1] == 5


def test_sampled_learned_times_are_valid_and_on_the_training_resolution():
    df, schema = irregular_frame("datetime", n_series=30)
    synth = DGSynthesizer(epochs=3, batch_size=10, random_state=0, time_mode="learned",
                          **SMALL).fit(df, schema)
    fake = synth.sample(200, random_state=0)
    schema.validate(fake)  # unique times within every series
    assert fake["hour"].dtype == df["hour"].dtype
    for _, series in fake.groupby("sid"):
        assert series["hour"].is_monotonic_increasing
    # Whole hours, like every training time.
    assert (fake["hour"].dt.minute == 0).all() and (fake["hour"].dt.second == 0).all()
    starts = fake.groupby("sid")["hour"].min()
    real_starts = df.groupby("sid")["hour"].min()
    assert starts.min() >= real_starts.min() and starts.max() <= real_starts.max()
    gaps = fake.groupby("sid")["hour"].diff().dropna()
    real_gaps = df.sort_values(["sid", "hour"]).groupby("sid")["hour"].diff().dropna()
    assert gaps.min() >= real_gaps.min() and gaps.max() <= real_gaps.max()


def test_learned_time_survives_save_and_load(tmp_path):
    df, schema = irregular_frame("int")
    synth = DGSynthesizer(epochs=1, batch_size=6, random_state=0, time_mode="learned",
                          **SMALL).fit(df, schema)
    synth.save(tmp_path / "m.dgk")
    loaded = DGSynthesizer.load(tmp_path / "m.dgk")
    pd.testing.assert_frame_equal(loaded.sample(20, random_state=4),
                                  synth.sample(20, random_state=4))


def test_learned_time_refusals():
    df, schema = irregular_frame("int")
    with pytest.raises(DataError, match="time_mode='learned' needs a time column"):
        DGSynthesizer(time_mode="learned", **SMALL).fit(
            df.drop(columns="hour"), Schema("sid", None, {"kind": "categorical"},
                                            {"load": "continuous"}))
    with pytest.raises(DataError, match="needs a numeric or datetime time column; 'hour' has"):
        DGSynthesizer(time_mode="learned", **SMALL).fit(
            df.assign(hour="t" + df["hour"].astype(str)), schema)
    with pytest.raises(DataError, match=r"time_mode must be one of \['grid', 'learned'\]"):
        DGSynthesizer(time_mode="free", **SMALL).fit(df, schema)
