"""Readers: original DoppelGANger npz, wide frames, sktime .ts files."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from dgkeras import DataError
from dgkeras.io import (
    _OutputSpecUnpickler,
    from_doppelganger_npz,
    from_wide,
    read_output_specs,
    read_sktime_ts,
)


def test_output_specs_are_read_without_importing_classes():
    specs = read_output_specs(DATA / "data_attribute_output.pkl")
    assert [(s["dim"], s["type"]) for s in specs] == [(15, "DISCRETE"), (5, "DISCRETE"),
                                                     (53, "DISCRETE")]
    feature = read_output_specs(DATA / "data_feature_output.pkl")
    assert [s["normalization"] for s in feature] == ["ZERO_ONE", "ZERO_ONE"]


def test_restricted_unpickler_refuses_other_classes():
    payload = pickle.dumps(pd.Timestamp("2020-01-01"), protocol=0)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        _OutputSpecUnpickler(io.BytesIO(payload)).load()
    evil = b"cos\nsystem\n(S'echo hacked'\ntR."
    with pytest.raises(pickle.UnpicklingError, match="refusing to load os.system"):
        _OutputSpecUnpickler(io.BytesIO(evil)).load()


def test_from_doppelganger_npz_matches_bundled_csv(mba):
    long, schema = from_doppelganger_npz(
        DATA / "data_train.npz", ["isp", "technology", "state"],
        ["traffic_byte_counter", "ping_loss_rate"])
    csv, _ = mba
    assert long.shape == (600 * 56, 7)
    assert schema.attributes == {"isp": "categorical", "technology": "categorical",
                                 "state": "categorical"}
    np.testing.assert_allclose(long["traffic_byte_counter"], csv["traffic_byte_counter"],
                               atol=1e-7)
    per_home = long.groupby("series")[["technology", "state"]].first()
    assert per_home["technology"].nunique() == 4 and per_home["state"].nunique() == 47
    # The same home has the same technology in both files (up to the category coding).
    real_tech = csv.groupby("home_id")["technology"].first().to_numpy()
    assert pd.crosstab(per_home["technology"].to_numpy(), real_tech).gt(0).sum(axis=1).eq(1).all()
    schema.validate(long)


def test_from_wide_variable_length():
    wide = pd.DataFrame({"name": ["a", "b"], "kind": ["x", "y"],
                         0: [1.0, 4.0], 1: [2.0, np.nan], 2: [3.0, np.nan]})
    long, schema = from_wide(wide, id_column="name", attribute_columns=["kind"])
    assert long["name"].tolist() == ["a", "a", "a", "b"]
    assert long["step"].tolist() == [0, 1, 2, 0]
    assert long["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert schema.attributes == {"kind": "categorical"}
    schema.validate(long)
    with pytest.raises(DataError, match="series 'b' has no values"):
        wide[0] = [1.0, np.nan]
        from_wide(wide, id_column="name", attribute_columns=["kind"])


def test_read_sktime_ts(plaid):
    df, schema = plaid
    assert df["series"].nunique() == 33
    assert sorted(df["label"].unique(), key=int) == [str(i) for i in range(11)]
    lengths = df.groupby("series").size()
    assert lengths.min() == 200 and lengths.max() == 1000
    first = read_sktime_ts(DATA / "plaid_subset.ts", max_series=2)[0]
    assert first["series"].nunique() == 2
    np.testing.assert_allclose(first["value"].iloc[:3], [0.17339, 0.13045, 0.13499])
