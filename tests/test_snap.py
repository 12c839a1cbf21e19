"""snap_to_minimum: a point mass at a continuous column's minimum is generated as that value."""

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL

from dgkeras import DGSynthesizer, Schema
from dgkeras.columns import POINT_MASS_SHARE, ContinuousColumn, column_from_state
from dgkeras.fitting import encode_training_data, resolve_settings
from dgkeras.params import validate_params


def _column(values, snap=True):
    return ContinuousColumn("loss", snap=snap).fit(pd.Series(values, dtype="float64"))


def test_a_point_mass_at_the_minimum_snaps_values_within_half_the_next_gap():
    values = np.r_[np.zeros(50), np.linspace(0.3, 1.0, 50)]
    column = _column(values)
    assert column.snap_below == pytest.approx(0.15)
    restored = column.restore(np.array([1e-6, 0.149, 0.151, 0.5, 0.0]))
    np.testing.assert_array_equal(restored.to_numpy(), [0.0, 0.0, 0.151, 0.5, 0.0])
    # Explicitly off: the same data, nothing snapped.
    assert _column(values, snap=False).snap_below == 0.0
    np.testing.assert_array_equal(_column(values, snap=False).restore(np.array([1e-6])), [1e-6])


def test_no_point_mass_no_snapping():
    rng = np.random.default_rng(0)
    column = _column(rng.uniform(2.0, 3.0, 1000))
    assert column.snap_below == 0.0
    low = np.array([column.min + 1e-9, column.min + 1e-3])
    np.testing.assert_array_equal(column.restore(low.copy()).to_numpy(), low)
    # The share at the minimum decides: 10 of 1,000 values at the minimum is a point
    # mass, 9 of 1,000 is not.
    assert POINT_MASS_SHARE == 0.01
    assert _column(np.r_[np.full(10, 5.0), np.linspace(6, 7, 990)]).snap_below == 0.5
    assert _column(np.r_[np.full(9, 5.0), np.linspace(6, 7, 991)]).snap_below == 0.0
    assert _column(np.zeros(20)).snap_below == 0.0  # a constant column


def test_snapping_travels_with_the_column_state_and_old_states_do_not_snap():
    column = _column(np.r_[np.zeros(50), np.linspace(0.3, 1.0, 50)])
    again = column_from_state(column.to_state())
    assert again.snap and again.snap_below == column.snap_below
    old = {k: v for k, v in column.to_state().items() if k not in ("snap", "snap_below")}
    assert column_from_state(old).snap_below == 0.0


def _frame(n=40, length=6, seed=0):
    rng = np.random.default_rng(seed)
    loss = np.where(rng.random((n, length)) < 0.7, 0.0, rng.uniform(0.02, 0.2, (n, length)))
    return pd.DataFrame({"id": np.repeat(np.arange(n), length),
                         "t": np.tile(np.arange(length), n),
                         "kind": np.repeat(rng.choice(["a", "b"], n), length),
                         "loss": loss.ravel(),
                         "volume": rng.gamma(2.0, 1.0, n * length)})


SCHEMA = Schema("id", "t", {"kind": "categorical"}, {"loss": "continuous",
                                                      "volume": "continuous"})


@pytest.mark.parametrize("given, private, expected", [
    ("auto", False, True), ("auto", True, False),  # "auto": off under DP
    (False, False, False), (True, True, True),     # an explicit value wins
])
def test_auto_is_on_without_dp_and_an_explicit_value_wins(given, private, expected):
    params = validate_params({**DGSynthesizer(snap_to_minimum=given).get_params(),
                              **({"epsilon": 1.0} if private else {})})
    encoder, _ = encode_training_data(_frame(), SCHEMA, resolve_settings(params, SCHEMA))
    loss, volume = encoder.continuous_features
    assert encoder.snap_to_minimum is expected
    assert (loss.snap_below > 0) is expected and volume.snap_below == 0.0
    if expected:
        smallest = _frame()["loss"][lambda v: v > 0].min()
        assert loss.snap_below == pytest.approx(smallest / 2)


def test_sample_and_sample_arrays_both_snap():
    synth = DGSynthesizer(epochs=1, batch_size=8, random_state=0, **SMALL).fit(_frame(),
                                                                               SCHEMA)
    assert synth.get_params()["snap_to_minimum"] == "auto"
    loss = synth.encoder_.continuous_features[0]
    assert loss.snap_below > 0
    # Every generated value within reach of the minimum, for the test's sake.
    loss.snap_below = loss.max - loss.min
    fake = synth.sample(12, random_state=1)
    arrays = synth.sample_arrays(12, random_state=1)
    assert (fake["loss"] == 0.0).all() and (fake["volume"] > 0).any()
    values = arrays.features["loss"]
    assert (values[~np.isnan(values)] == 0.0).all()
