"""Property-based tests over random schemas and frames.

* encode -> decode gives every value back (categories exactly, numbers to
  float32 precision of their range), missing categories included;
* fitting messy random data raises nothing but DataError;
* whatever a fitted model samples passes its own schema.

The examples are derandomised, so CI runs the same ones every time;
``HYPOTHESIS_PROFILE=thorough`` runs many more, with fresh randomness.
"""

import os

import numpy as np
import pandas as pd
from conftest import SMALL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dgkeras import DataError, DGSynthesizer, Schema
from dgkeras.encoding import Encoder

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if THOROUGH else "ci")


def examples(n):
    """n examples in CI, twenty times as many in the thorough profile."""
    return n * 20 if THOROUGH else n

DTYPES = ("float", "int", "bool", "str", "category")


@st.composite
def columns(draw, length, role):
    """One column of ``length`` values: (values as a Series, schema kind)."""
    dtype = draw(st.sampled_from(DTYPES))
    if dtype == "float":
        scale = draw(st.sampled_from([1e-9, 1.0, 1e6, 1e15]))
        values = draw(st.lists(st.floats(-1e3, 1e3), min_size=length, max_size=length))
        return pd.Series(np.asarray(values) * scale), "continuous"
    if dtype == "int":
        values = draw(st.lists(st.integers(-10**6, 10**6), min_size=length, max_size=length))
        kind = draw(st.sampled_from(["continuous", "categorical"]))
        return pd.Series(values, dtype="int64"), kind
    if dtype == "bool":
        values = draw(st.lists(st.booleans(), min_size=length, max_size=length))
        return pd.Series(values, dtype=bool), "categorical"
    words = draw(st.lists(st.text("abcxyz ", min_size=0, max_size=4), min_size=1, max_size=5))
    values = draw(st.lists(st.sampled_from(words), min_size=length, max_size=length))
    if draw(st.booleans()):  # missing values form a category of their own
        missing = draw(st.lists(st.booleans(), min_size=length, max_size=length))
        values = [None if m else v for v, m in zip(values, missing)]
    series = pd.Series(values, dtype=object)
    if dtype == "category":
        series = series.astype(pd.CategoricalDtype(sorted(set(words))))
    return series, "categorical"


@st.composite
def frames(draw):
    """A long frame with 1-6 series of 1-8 records, 0-2 attributes and 1-3 features."""
    lengths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=6))
    n_records = sum(lengths)
    ids = np.repeat(np.arange(len(lengths)) * 7 + 3, lengths)
    df = pd.DataFrame({"key": ids, "time": np.concatenate([np.arange(n) for n in lengths])})
    attributes, features = {}, {}
    for i in range(draw(st.integers(0, 2))):
        values, kind = draw(columns(len(lengths), "attribute"))
        df[f"a{i}"] = values.iloc[np.repeat(np.arange(len(lengths)), lengths)].to_numpy()
        df[f"a{i}"] = df[f"a{i}"].astype(values.dtype)
        attributes[f"a{i}"] = kind
    for i in range(draw(st.integers(1, 3))):
        values, kind = draw(columns(n_records, "feature"))
        df[f"f{i}"] = values.to_numpy()
        df[f"f{i}"] = df[f"f{i}"].astype(values.dtype)
        features[f"f{i}"] = kind
    shuffled = df.sample(frac=1.0, random_state=draw(st.integers(0, 10))).reset_index(drop=True)
    return shuffled, Schema("key", "time", attributes, features)


def _by_series_and_time(df):
    return df.sort_values(["key", "time"], kind="stable").reset_index(drop=True)


@settings(max_examples=examples(60))
@given(frames())
def test_encode_decode_is_exact(case):
    df, schema = case
    schema.validate(df)
    encoder = Encoder(schema).fit(df)
    data = encoder.transform(df)
    back = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    # New keys are numbered in order of first appearance in the input.
    first_seen = pd.unique(df["key"])
    back["key"] = first_seen[back["key"].to_numpy() - encoder.id_state_["start"]]
    real, back = _by_series_and_time(df), _by_series_and_time(back)
    assert back.dtypes.to_dict() == real.dtypes.to_dict()
    for column, kind in {**schema.attributes, **schema.features}.items():
        if kind == "continuous":
            span = float(real[column].max() - real[column].min()) or 1.0
            np.testing.assert_allclose(back[column].astype(float), real[column].astype(float),
                                       rtol=0, atol=1e-6 * span + 1e-12 * abs(real[column]).max())
        else:
            pd.testing.assert_series_equal(back[column], real[column], check_names=False)


@st.composite
def messy_frames(draw):
    """Random frames with some damage: NaN, inf, a varying attribute, duplicate times."""
    df, schema = draw(frames())
    df = df.copy()
    damage = draw(st.sampled_from(["none", "nan", "inf", "vary", "duplicate-time"]))
    row = draw(st.integers(0, len(df) - 1))
    columns = list(schema.attributes) + list(schema.features)
    column = draw(st.sampled_from(columns))
    if damage == "nan":
        if not (pd.api.types.is_float_dtype(df[column].dtype)
                or isinstance(df[column].dtype, pd.CategoricalDtype)):
            df[column] = df[column].astype(object)
        df.loc[row, column] = np.nan
    elif damage == "inf" and schema.features.get(column) == "continuous":
        df[column] = df[column].astype(float)
        df.loc[row, column] = np.inf
    elif damage == "vary" and column in schema.attributes:
        df[column] = df[column].astype(object)
        df.loc[row, column] = "other"
    elif damage == "duplicate-time" and len(df) > 1:
        df.loc[row, "time"] = df.loc[(row + 1) % len(df), "time"]
    return df, schema


@settings(max_examples=examples(8))
@given(messy_frames())
def test_fit_raises_only_data_error_and_samples_pass_the_schema(case):
    df, schema = case
    try:
        synth = DGSynthesizer(epochs=1, batch_size=4, random_state=0, **SMALL).fit(df, schema)
    except DataError:
        return
    sample = synth.sample(9, random_state=0)
    schema.validate(sample)
    assert sample.dtypes.to_dict() == df[sample.columns].dtypes.to_dict()
    assert sample["key"].nunique() == 9
    assert sample.groupby("key").size().max() <= synth.max_sequence_len_
    for column, kind in {**schema.attributes, **schema.features}.items():
        if kind == "categorical":
            seen = set(df[column].dropna())
            assert set(sample[column].dropna()) <= seen
        else:
            values = sample[column].astype(float)
            assert values.between(df[column].astype(float).min(),
                                  df[column].astype(float).max()).all()
