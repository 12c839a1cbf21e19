"""pin_extremes: each generated series takes the minimum and maximum generated for it."""

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL

from dgkeras import DataError, DGSynthesizer, Schema
from dgkeras.encoding import Encoder, extreme_records

SCHEMA = Schema("id", "t", {"kind": "categorical"}, {"volume": "continuous",
                                                      "load": "continuous"})


def _frame(lengths=(6, 3, 5, 1), seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"id": i, "t": t, "kind": "ab"[i % 2], "volume": rng.gamma(2.0, 1.0) * (i + 1),
             "load": rng.uniform(10, 20)}
            for i, n in enumerate(lengths) for t in range(n)]
    return pd.DataFrame(rows)


def test_extreme_records_by_hand():
    values = np.array([[0.5, 0.2, 0.9, 0.0],     # the 0.0 lies past the length
                       [0.3, 0.3, 0.3, 0.3],     # constant: lowest and highest coincide
                       [0.1, 0.7, 0.7, 0.1],     # ties: the first of each
                       [0.4, 0.8, 0.6, 0.2]])    # length 1: one record, nothing to pin
    series, lowest, highest = extreme_records(values, np.array([3, 4, 4, 1]))
    np.testing.assert_array_equal(series, [0, 2])
    np.testing.assert_array_equal(lowest, [1, 0])
    np.testing.assert_array_equal(highest, [2, 1])


def _shrunk(data, normalization):
    """Generator-like records: the continuous values pulled towards the middle, as a
    generator that never reaches its series' extremes gives them."""
    features = data.features.copy()
    middle = 0.5 if normalization == "zero_one" else 0.0
    features[..., :2] = middle + 0.6 * (features[..., :2] - middle)
    return features


@pytest.mark.parametrize("normalization", ["zero_one", "minus_one_one"])
def test_pinned_series_take_their_generated_minimum_and_maximum(normalization):
    df = _frame()
    real_extremes = df.groupby("id")[["volume", "load"]].agg(["min", "max"])
    decoded = {}
    for pin in (False, True):
        encoder = Encoder(SCHEMA, normalization=normalization, pin_extremes=pin).fit(df)
        data = encoder.transform(df)
        back = encoder.inverse_transform(data.attributes, data.minmax,
                                         _shrunk(data, normalization), data.lengths)
        decoded[pin] = back.groupby("id")[["volume", "load"]].agg(["min", "max"]).to_numpy()
        # The real records, which reach 0 and 1 of their series' range, decode the
        # same either way.
        exact = encoder.inverse_transform(data.attributes, data.minmax, data.features,
                                          data.lengths)
        np.testing.assert_allclose(exact[["volume", "load"]], df[["volume", "load"]],
                                   rtol=1e-5)
    wanted = real_extremes.to_numpy()
    # With pinning, every series of two or more records decodes to the minimum and
    # maximum its min/max outputs say (here the real ones); without, it falls short.
    np.testing.assert_allclose(decoded[True][:3], wanted[:3], rtol=1e-5)
    assert (decoded[False][:3, 0::2] > wanted[:3, 0::2] * (1 + 1e-4)).all()
    assert (decoded[False][:3, 1::2] < wanted[:3, 1::2] * (1 - 1e-4)).all()
    # The one-record series has nothing to pin: the same value either way.
    np.testing.assert_allclose(decoded[True][3], decoded[False][3])


def test_sample_and_sample_arrays_pin_alike():
    df = _frame(lengths=(6, 4, 5, 6, 3, 6) * 3, seed=1)
    schema = Schema("id", "t", {"kind": "categorical"}, {"volume": "continuous",
                                                          "load": "continuous"})
    synth = DGSynthesizer(epochs=1, batch_size=6, random_state=0, **SMALL).fit(df, schema)
    assert synth.get_params()["pin_extremes"] is True
    assert synth.encoder_.pin_extremes is True
    fake = synth.sample(10, random_state=3)
    arrays = synth.sample_arrays(10, random_state=3)
    for column in ("volume", "load"):
        from_frame = fake.groupby("id", sort=False)[column].agg(["min", "max"]).to_numpy()
        values = arrays.features[column]
        from_arrays = np.c_[np.nanmin(values, axis=1), np.nanmax(values, axis=1)]
        np.testing.assert_allclose(from_frame, from_arrays)
    # Unpinned, the same model's series are strictly inside the pinned extremes
    # wherever they are longer than one record.
    synth.encoder_.pin_extremes = False
    loose = synth.sample(10, random_state=3)
    pinned_range = fake.groupby("id")["volume"].agg(np.ptp)
    loose_range = loose.groupby("id")["volume"].agg(np.ptp)
    longer = fake.groupby("id").size() > 1
    assert (loose_range[longer] < pinned_range[longer]).all()


def test_pinning_travels_with_the_encoder_state_and_old_states_do_not_pin():
    df = _frame()
    encoder = Encoder(SCHEMA, pin_extremes=True).fit(df)
    assert Encoder.from_state(encoder.to_state()).pin_extremes is True
    old = {k: v for k, v in encoder.to_state().items() if k != "pin_extremes"}
    assert Encoder.from_state(old).pin_extremes is False


def test_pin_extremes_must_be_a_boolean():
    with pytest.raises(DataError, match="pin_extremes"):
        Encoder(SCHEMA, pin_extremes="yes")
    with pytest.raises(DataError, match="pin_extremes"):
        DGSynthesizer(pin_extremes="yes").fit(_frame(lengths=(3,) * 12), SCHEMA)
