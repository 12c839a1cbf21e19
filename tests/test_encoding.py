"""Encoding is exact: encode -> decode gives the input back, dtypes and all."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_frame

from dgkeras import DataError, Schema
from dgkeras.encoding import Encoder, choose_sample_len


def _order(df, schema):
    keys = [schema.id_column] + ([schema.time_column] if schema.time_column else [])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _assert_round_trip(df, schema, tolerance=1e-6, **kwargs):
    encoder = Encoder(schema, **kwargs).fit(df)
    data = encoder.transform(df)
    back = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    # Ids are regenerated; map them back by series order to compare the rest.
    real = _order(df[back.columns], schema)
    # Series are encoded in order of first appearance in the input.
    id_map = dict(zip(back[schema.id_column].unique(), df[schema.id_column].unique()))
    back[schema.id_column] = back[schema.id_column].map(id_map).astype(df[schema.id_column].dtype)
    back = _order(back, schema)
    assert list(back.columns) == [c for c in df.columns if c in schema.columns]
    assert back.dtypes.to_dict() == real.dtypes.to_dict()
    for column in back.columns:
        if schema.features.get(column) == "continuous" or \
                schema.attributes.get(column) == "continuous":
            span = float(real[column].max() - real[column].min()) or 1.0
            np.testing.assert_allclose(back[column].astype(float), real[column].astype(float),
                                       atol=tolerance * span, rtol=0)
        else:
            pd.testing.assert_series_equal(back[column], real[column], check_names=False)
    return encoder, data


def test_round_trip_mba(mba):
    df, schema = mba
    encoder, data = _assert_round_trip(df, schema)
    assert data.features.shape == (600, 56, 2 + 2)
    assert data.attributes.shape == (600, 11 + 4 + 47)
    assert data.minmax.shape == (600, 4)
    assert encoder.sample_len_ == 2  # smallest S with 56 / S <= 50


@pytest.mark.parametrize("auto_normalize", [True, False])
@pytest.mark.parametrize("normalization", ["zero_one", "minus_one_one"])
def test_round_trip_plaid_variable_length(plaid, auto_normalize, normalization):
    df, schema = plaid
    encoder, data = _assert_round_trip(df, schema, auto_normalize=auto_normalize,
                                       normalization=normalization)
    lengths = df.groupby("series").size().to_numpy()
    np.testing.assert_array_equal(data.lengths, lengths)
    assert encoder.max_len_ == 1000 and encoder.sample_len_ == 20
    low = -1.0 if normalization == "minus_one_one" else 0.0
    assert data.features[..., 0].min() >= low and data.features[..., 0].max() <= 1.0
    # Generation flags: [1, 0] before the last record, [0, 1] at it, zeros after.
    flags = data.features[..., -2:]
    for i, n in enumerate(lengths[:5]):
        assert (flags[i, : n - 1] == [1, 0]).all()
        assert (flags[i, n - 1] == [0, 1]).all()
        assert (data.features[i, n:] == 0).all()


def test_round_trip_mixed_dtypes_without_attributes():
    df, schema = mixed_frame()
    encoder, data = _assert_round_trip(df, schema)
    assert data.attributes.shape[1] == 0
    assert encoder.feature_columns_[2].categories == ["hi", "lo", "mid"]


def test_dtypes_survive_decoding_of_generator_like_outputs():
    df, schema = mixed_frame()
    encoder = Encoder(schema).fit(df)
    data = encoder.transform(df)
    noisy = np.random.default_rng(0).uniform(-0.5, 1.5, data.features.shape).astype(np.float32)
    minmax = np.random.default_rng(1).uniform(-1, 2, data.minmax.shape).astype(np.float32)
    out = encoder.inverse_transform(data.attributes, minmax, noisy, data.lengths)
    assert out["count"].dtype == np.int64 and out["flag"].dtype == bool
    assert isinstance(out["level"].dtype, pd.CategoricalDtype)
    assert list(out["level"].cat.categories) == ["lo", "mid", "hi", "unused"]
    assert set(out["code"]) <= {"a", "b", "c"}
    for column in ("count", "load"):
        assert out[column].between(df[column].min(), df[column].max()).all()


def test_sample_len_choice_and_errors():
    assert choose_sample_len(56, None) == 2
    assert choose_sample_len(50, None) == 1
    assert choose_sample_len(550, None) == 11
    with pytest.raises(DataError, match=r"sample_len=60 does not fit .* at most 56 .* picks 2"):
        choose_sample_len(56, 60)
    with pytest.raises(DataError, match="positive integer"):
        choose_sample_len(56, 2.5)
    with pytest.warns(UserWarning, match="LSTM steps"):
        assert choose_sample_len(200, 1) == 1


def test_max_sequence_len_pads_to_multiple_of_sample_len(mba):
    df, schema = mba
    encoder = Encoder(schema, sample_len=5, max_sequence_len=58).fit(df)
    assert encoder.padded_len_ == 60
    data = encoder.transform(df)
    assert data.features.shape[1] == 60 and (data.features[:, 56:] == 0).all()
    # The time grid is extended with the last step for the extra records.
    times = encoder.time_grid_.take(np.array([56, 57]))
    assert list(times) == list(pd.to_datetime(["2017-10-15 00:00", "2017-10-15 06:00"]))


def test_series_longer_than_max_sequence_len_is_refused(mba):
    df, schema = mba
    with pytest.raises(DataError, match=r"series 0 has 56 records, more than max_sequence_len=40"):
        Encoder(schema, max_sequence_len=40).fit(df)


def test_encoder_state_round_trip_is_json(mba):
    import json

    df, schema = mba
    encoder = Encoder(schema).fit(df)
    state = json.loads(json.dumps(encoder.to_state()))
    again = Encoder.from_state(state)
    data = encoder.transform(df)
    a = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    b = again.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    pd.testing.assert_frame_equal(a, b)


def test_unknown_categories_error_or_encode_as_zeros(mba):
    df, schema = mba
    encoder = Encoder(schema).fit(df[df["state"] != "TX"])
    with pytest.raises(DataError, match="column 'state' has value 'TX', which is not one of"):
        encoder.transform(df)
    data = encoder.transform(df, handle_unknown="ignore")
    tx = df.groupby("home_id")["state"].first().to_numpy() == "TX"
    state_block = data.attributes[:, -len(encoder.attribute_columns_[2].categories):]
    assert tx.any() and (state_block[tx] == 0).all() and (state_block[~tx].sum(1) == 1).all()


def _wide_range_frame():
    """Three series whose levels differ by factors of 1000 (like traffic volumes)."""
    rows = []
    for series, level in enumerate([0.01, 10.0, 10_000.0]):
        for t in range(4):
            rows.append((series, t, "ab"[series % 2], level * (1 + t), 3.0 + series * 1e3))
    df = pd.DataFrame(rows, columns=["id", "t", "kind", "mbps", "size"])
    schema = Schema("id", "t", {"kind": "categorical", "size": "continuous"},
                    {"mbps": "continuous"})
    return df, schema


@pytest.mark.parametrize("auto_normalize", [True, False])
def test_log_columns_round_trip_and_log_spaced_units(auto_normalize):
    df, schema = _wide_range_frame()
    encoder, data = _assert_round_trip(df, schema, auto_normalize=auto_normalize,
                                       log_columns=["mbps", "size"])
    column = next(c for c in encoder.feature_columns_ if c.name == "mbps")
    assert column.log and column.min == 0.01 and column.max == 40_000.0
    # log1p(value - min) / log1p(max - min): equal ratios of (value - min) + 1 give
    # equal steps; 1e4 - 0.01 + 1 and 4e4 - 0.01 + 1 differ by log(4) / log(40000).
    units = column.to_unit(np.array([0.01, 10_000.0, 40_000.0]))
    expected = np.log1p(np.array([0.0, 9_999.99, 39_999.99])) / np.log1p(39_999.99)
    np.testing.assert_allclose(units, expected, rtol=1e-12)
    np.testing.assert_allclose(column.from_unit(units), [0.01, 10_000.0, 40_000.0],
                               rtol=1e-10)
    # Below the training minimum: below 0, never NaN (given values are range-checked).
    assert column.to_unit(np.array([-5.0]))[0] < 0
    # The series at level 0.01 keeps its own shape: with a linear scale its four values
    # would all lie within 1e-6 of 0 in unit space.
    assert np.ptp(column.to_unit(df["mbps"].to_numpy()[:4])) > 1e-4


def test_log_columns_survive_encoder_state():
    import json

    df, schema = _wide_range_frame()
    encoder = Encoder(schema, log_columns=["mbps"]).fit(df)
    state = json.loads(json.dumps(encoder.to_state()))
    again = Encoder.from_state(state)
    assert again.log_columns == ["mbps"]
    assert [c.log for c in again.feature_columns_] == [True]
    assert [c.log for c in again.attribute_columns_ if hasattr(c, "log")] == [False]
    data = encoder.transform(df)
    a = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    b = again.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    pd.testing.assert_frame_equal(a, b)
    # A state written before the option existed decodes on the linear scale.
    for column_state in state["feature_columns_"]:
        del column_state["log"]
    del state["log_columns"]
    old = Encoder.from_state(state)
    assert old.log_columns == [] and not old.feature_columns_[0].log


@pytest.mark.parametrize("values", [
    pd.Series([3, 1, 2], dtype="int64"),
    pd.Series([True, False, True]),
    pd.Series(["b", None, "a"], dtype=object),
    pd.Series(["x", "y", "x"], dtype="category"),
    pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"]).tz_localize("UTC")),
    pd.Series(["p", "q", "r"], dtype="string"),
], ids=["int", "bool", "object", "category", "datetime-tz", "string"])
def test_take_rows_and_repeat_rows_equal_iloc_in_every_dtype(values):
    from dgkeras.encoding import repeat_rows, take_rows

    rows = np.array([2, 0, 0, 1, 2])
    got = take_rows(values.set_axis([10, 11, 12]), rows)
    pd.testing.assert_series_equal(got, values.iloc[rows].reset_index(drop=True))
    counts = np.array([2, 0, 3])
    got = repeat_rows(values.set_axis([10, 11, 12]), counts)
    pd.testing.assert_series_equal(got, values.iloc[[0, 0, 2, 2, 2]].reset_index(drop=True))


@pytest.mark.parametrize("normalization, expected", [
    ("zero_one", [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]),
    ("minus_one_one", [0.0, 0.0, 0.5, 0.75, 1.0, 1.0]),
])
def test_from_output_space_in_place_equals_a_new_array(normalization, expected):
    from dgkeras.columns import from_output_space

    values = np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0])
    copy = from_output_space(values, normalization)
    assert copy is not values and values[0] == -1.5  # the input is left alone
    np.testing.assert_array_equal(copy, expected)
    in_place = from_output_space(values, normalization, out=values)
    assert in_place is values
    np.testing.assert_array_equal(values, expected)


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
@pytest.mark.parametrize("normalization", ["zero_one", "minus_one_one"])
def test_from_scaled_equals_from_unit_of_the_affine_map(log, normalization):
    from dgkeras.columns import ContinuousColumn, from_output_space, output_space_affine

    column = ContinuousColumn("x", log=log).fit(pd.Series([0.01, 3.0, 40_000.0]))
    rng = np.random.default_rng(0)
    low = -1.0 if normalization == "minus_one_one" else 0.0
    # Generator outputs in the output range, with per-row ranges [lo, hi] in [0, 1].
    outputs = rng.uniform(low, 1.0, (50, 7))
    outputs[:, 0], outputs[:, 1] = low, 1.0
    lo = rng.uniform(0.0, 0.5, (50, 1))
    hi = lo + rng.uniform(0.0, 0.5, (50, 1))
    expected = column.from_unit(from_output_space(outputs, normalization) * (hi - lo) + lo)
    scale, shift = output_space_affine(normalization)
    values = outputs.copy()
    got = column.from_scaled(values, scale * (hi - lo), shift * (hi - lo) + lo)
    assert got is values
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * column.max)
    np.testing.assert_allclose(got[:, 0], column.from_unit(lo[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(got[:, 1], column.from_unit(hi[:, 0]), rtol=1e-12)
    # Unit values beyond [0, 1] end at the bounds of the training range.
    np.testing.assert_allclose(column.from_scaled(np.array([-0.5, 0.5, 1.5]), 2.0, 0.0),
                               [column.min, column.max, column.max], rtol=1e-12)


def test_from_scaled_on_a_constant_column_gives_the_constant():
    from dgkeras.columns import ContinuousColumn

    for log in (False, True):
        column = ContinuousColumn("c", log=log).fit(pd.Series([2.5, 2.5]))
        np.testing.assert_array_equal(column.from_scaled(np.array([0.0, 0.3, 1.0]), 0.5, 0.5),
                                      [2.5, 2.5, 2.5])


def test_minmax_log_scale_round_trips_and_spreads_small_series(mba):
    df, schema = mba
    encoder, data = _assert_round_trip(df, schema, minmax_scale="log")
    unit = Encoder(schema).fit(df).transform(df)
    scale = encoder.minmax_scales_[0]
    low, high = scale.ranges["mid"]
    assert scale.kind == "log" and 0.0 <= low < high <= 1.0
    # Both cover [0, 1] ...
    assert data.minmax.min() == 0.0 and data.minmax.max() == pytest.approx(1.0, abs=1e-6)
    # ... but the log scale moves the typical home's midrange away from the bottom:
    # on the unit scale half the homes lie within a small fraction of the range.
    assert np.median(unit.minmax[:, 0]) < 0.1 < 0.4 < np.median(data.minmax[:, 0])
    np.testing.assert_allclose(
        scale.from_output(scale.to_output(unit.minmax[:, 0].astype(np.float64), "mid"), "mid"),
        unit.minmax[:, 0], rtol=1e-12, atol=1e-15)


def test_minmax_log_min_round_trips_and_generates_the_series_minimum(mba):
    df, schema = mba
    encoder, data = _assert_round_trip(df, schema, minmax_scale="log_min")
    scale = encoder.minmax_scales_[0]
    assert scale.kind == "log_min" and scale.parts == ("min", "span")
    # The level is each home's lowest traffic in the column's unit scale.
    column = encoder.feature_columns_[0]
    unit = (df.groupby("home_id", sort=False)[column.name].agg(["min", "max"]) - column.min) \
        / (column.max - column.min)
    assert scale.ranges["min"] == pytest.approx((unit["min"].min(), unit["min"].max()))
    assert scale.ranges["span"] == pytest.approx(
        ((unit["max"] - unit["min"]).min(), (unit["max"] - unit["min"]).max()))
    np.testing.assert_allclose(scale.from_output(data.minmax[:, 0].astype(np.float64), "min"),
                               unit["min"].to_numpy(), rtol=1e-5, atol=1e-9)


def test_minmax_levels_and_bounds_by_hand():
    from dgkeras.columns import MinMaxScale

    lo, hi = np.array([0.0, 0.01, 0.2]), np.array([0.1, 0.13, 0.2])
    for kind, level in (("unit", [0.05, 0.07, 0.2]), ("log", [0.05, 0.07, 0.2]),
                        ("log_min", lo)):
        scale = MinMaxScale(kind)
        got_level, span = scale.levels(lo, hi)
        np.testing.assert_allclose(got_level, level)
        np.testing.assert_allclose(span, [0.1, 0.12, 0.0])
        back = scale.bounds(got_level, span)
        np.testing.assert_allclose(back[0], lo, atol=1e-15)
        np.testing.assert_allclose(back[1], hi, atol=1e-15)
    # Decoded bounds stay in [0, 1] whatever the generator's numbers.
    assert [b.tolist() for b in MinMaxScale("log").bounds(np.array([0.05]), np.array([0.2]))] \
        == [[0.0], [0.15000000000000002]]
    assert [b.tolist() for b in MinMaxScale("log_min").bounds(np.array([0.9]), np.array([0.3]))] \
        == [[0.9], [1.0]]


def test_minmax_log_min_keeps_errors_in_the_minimum_relative():
    """A series whose minimum (0.008) is small next to its maximum (0.1): the
    generator gets its two numbers 2% off, in opposite directions."""
    from dgkeras.columns import MinMaxScale

    lo, hi = np.array([0.008]), np.array([0.1])
    errors = {}
    for kind in ("log", "log_min"):
        level, span = MinMaxScale(kind).levels(lo, hi)
        off_lo, _ = MinMaxScale(kind).bounds(level * 1.02, span * 0.98)
        errors[kind] = float(abs(off_lo[0] - lo[0]) / lo[0])
    # midrange 0.054 + 2%, half-span 0.046 - 2%: the minimum moves by 25%.
    assert errors["log"] == pytest.approx(0.25)
    assert errors["log_min"] == pytest.approx(0.02)


def test_minmax_scale_maps_the_training_range_onto_zero_one():
    from dgkeras.columns import MinMaxScale

    mid, span = np.array([0.001, 0.01, 0.1, 0.5]), np.array([0.0, 0.0, 0.0, 0.0])
    scale = MinMaxScale("log").fit(mid, mid)  # constant series: minimum = maximum = midrange
    out = scale.to_output(mid, "mid")
    assert out[0] == 0.0 and out[-1] == pytest.approx(1.0)
    c = 1e-3 * 0.5
    np.testing.assert_allclose(out, np.log1p((mid - 0.001) / c) / np.log1p(0.499 / c))
    np.testing.assert_allclose(scale.from_output(out, "mid"), mid, rtol=1e-12)
    # Outside the training range: clipped to it, both ways.
    assert scale.to_output(np.array([0.0, 0.9]), "mid").tolist() == [0.0, 1.0]
    # A part with a single training value maps to 0 and back to that value.
    assert scale.to_output(span, "span").tolist() == [0.0] * 4
    assert scale.from_output(np.array([0.0, 0.7]), "span").tolist() == [0.0, 0.0]
    again = MinMaxScale.from_state(scale.to_state())
    np.testing.assert_array_equal(again.to_output(mid, "mid"), out)
    unit = MinMaxScale("unit").fit(mid, mid)
    assert unit.to_output(mid, "mid") is mid and unit.from_output(mid, "mid") is mid


def test_minmax_quantile_scale_by_hand():
    """Eight series, six of them constant (span 0), the others spanning 0.5 and 1.0."""
    from dgkeras.columns import MinMaxScale

    lo, hi = np.full(8, 0.2), 0.2 + np.array([0, 0, 0, 0, 0, 0, 0.5, 1.0])
    scale = MinMaxScale("quantile").fit(lo, hi)
    assert scale.parts == ("min", "span")
    span = hi - lo
    # np.quantile puts the sixth value (the last 0) at probability 5/7: the 715
    # quantiles at 0, 0.001, ..., 0.714 are all 0, and a span of 0 encodes to the
    # middle of them.
    assert scale.to_output(np.array([0.0]), "span")[0] == pytest.approx(0.357, abs=1e-12)
    assert scale.to_output(np.array([0.5]), "span")[0] == pytest.approx(6 / 7, abs=1e-3)
    assert scale.to_output(np.array([1.0, 7.0]), "span").tolist() == [1.0, 1.0]
    np.testing.assert_allclose(scale.from_output(scale.to_output(span, "span"), "span"), span,
                               atol=1e-12)
    # Every output up to 0.714 decodes to exactly 0: a generator whose outputs were
    # uniform would make 5/7 of its series constant, as the training data has 6/8.
    u = np.random.default_rng(0).random(100_000)
    spans = scale.from_output(u, "span")
    assert (spans[u <= 0.714] == 0).all() and (spans[u > 0.715] > 0).all()
    assert np.mean(spans == 0) == pytest.approx(5 / 7, abs=0.01)
    # One training value: every output decodes to it.
    assert scale.from_output(np.array([0.0, 0.6, 1.0]), "min").tolist() == [0.2] * 3
    assert scale.to_output(np.array([0.2]), "min")[0] == pytest.approx(0.5)
    again = MinMaxScale.from_state(json.loads(json.dumps(scale.to_state())))
    np.testing.assert_array_equal(again.to_output(span, "span"), scale.to_output(span, "span"))
    np.testing.assert_array_equal(again.from_output(u, "span"), spans)


def test_minmax_quantile_round_trips_and_spreads_the_minima_evenly(mba):
    df, schema = mba
    # The min/max reach the generator as float32: where the training series are
    # sparse (the tails), a rounding of 6e-8 in a rank moves the decoded value most.
    encoder, data = _assert_round_trip(df, schema, tolerance=1e-5, minmax_scale="quantile")
    assert [s.kind for s in encoder.minmax_scales_] == ["quantile", "quantile"]
    # Each home's lowest traffic by its rank among the homes: evenly over [0, 1].
    ranks = data.minmax[:, 0]
    assert ranks.min() < 0.01 and ranks.max() > 0.99
    assert np.quantile(ranks, [0.25, 0.5, 0.75]) == pytest.approx([0.25, 0.5, 0.75], abs=0.02)


@pytest.mark.parametrize("kind", ["log", "log_min", "quantile"])
def test_minmax_scale_survives_encoder_state_and_old_states_decode_as_unit(mba, kind):
    import json

    df, schema = mba
    encoder = Encoder(schema, minmax_scale=kind).fit(df)
    data = encoder.transform(df)
    state = json.loads(json.dumps(encoder.to_state()))
    again = Encoder.from_state(state)
    assert again.minmax_scale == kind
    assert again.minmax_scales_[0].ranges == encoder.minmax_scales_[0].ranges
    for part, table in encoder.minmax_scales_[0].quantiles.items():
        np.testing.assert_array_equal(again.minmax_scales_[0].quantiles[part], table)
    a = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    pd.testing.assert_frame_equal(
        a, again.inverse_transform(data.attributes, data.minmax, data.features, data.lengths))
    plain = Encoder(schema).fit(df)
    old_state = json.loads(json.dumps(plain.to_state()))
    del old_state["minmax_scale"], old_state["minmax_scales_"]
    old = Encoder.from_state(old_state)
    unit = plain.transform(df)
    pd.testing.assert_frame_equal(
        old.inverse_transform(unit.attributes, unit.minmax, unit.features, unit.lengths),
        plain.inverse_transform(unit.attributes, unit.minmax, unit.features, unit.lengths))
    with pytest.raises(DataError,
                       match=r"minmax_scale must be one of "
                             r"\['unit', 'log', 'log_min', 'quantile'\]"):
        Encoder(schema, minmax_scale="log10")


def test_minmax_log_scale_covers_the_learned_time_gaps():
    from test_timing import irregular_frame

    df, schema = irregular_frame("int")
    decoded = {}
    for kind in ("unit", "log", "log_min"):
        encoder = Encoder(schema, time_mode="learned", minmax_scale=kind).fit(df)
        data = encoder.transform(df)
        decoded[kind] = encoder.inverse_transform(data.attributes, data.minmax, data.features,
                                                  data.lengths)
        if kind != "unit":  # load, hour gap
            assert [s.kind for s in encoder.minmax_scales_] == [kind, kind]
            assert set(encoder.minmax_scales_[1].ranges) == set(encoder.minmax_scales_[1].parts)
    pd.testing.assert_frame_equal(decoded["log"], decoded["unit"], rtol=1e-5)
    pd.testing.assert_frame_equal(decoded["log_min"], decoded["unit"], rtol=1e-5)


def _flagged_records(encoder, ends):
    """Generator-like records whose flags say "ended" at each series' ``ends`` record."""
    data = np.full((len(ends), encoder.padded_len_, 3), 0.5, dtype=np.float32)
    data[:, :, -2:] = [1.0, 0.0]
    data[np.arange(len(ends)), np.asarray(ends) - 1, -2:] = [0.0, 1.0]
    return data


def test_equal_training_lengths_fix_the_generated_length(mba):
    df, schema = mba  # every home has 56 records
    encoder = Encoder(schema).fit(df)
    assert encoder.fixed_len_ == 56
    records = _flagged_records(encoder, [3, 56, 20])
    np.testing.assert_array_equal(encoder.generated_lengths(records), [56, 56, 56])
    # The length survives the encoder's state; a state saved before the rule reads the flags.
    state = json.loads(json.dumps(encoder.to_state()))
    assert Encoder.from_state(state).fixed_len_ == 56
    del state["fixed_len_"]
    old = Encoder.from_state(state)
    assert old.fixed_len_ is None
    np.testing.assert_array_equal(old.generated_lengths(records), [3, 56, 20])


def test_varying_training_lengths_take_the_generation_flags(mba, plaid):
    df, schema = plaid  # 200 to 1000 records
    encoder = Encoder(schema).fit(df)
    assert encoder.fixed_len_ is None
    np.testing.assert_array_equal(encoder.generated_lengths(_flagged_records(encoder, [7, 1000])),
                                  [7, 1000])
    # One home a record short is enough for lengths to be learned.
    mba_df, mba_schema = mba
    last = mba_df.index[mba_df[mba_schema.id_column] == mba_df[mba_schema.id_column].iloc[0]][-1]
    assert Encoder(mba_schema).fit(mba_df.drop(index=last)).fixed_len_ is None
