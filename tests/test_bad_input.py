"""One test per row of the bad-input table in docs/bad_input.rst.

Each case builds messy input and checks what dgkeras does with it: a
DataError naming the column, the series and the problem, or a documented
repair whose result is checked value by value.
"""

import pathlib
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, attribute_frame

from dgkeras import DataError, DGSynthesizer, Schema
from dgkeras.cleaning import prepare_frame
from dgkeras.encoding import Encoder

DOCS_TABLE = pathlib.Path(__file__).parents[1] / "docs" / "bad_input.rst"


def _frame(n_series=4, length=3):
    df, schema = attribute_frame(n_series=n_series, length=length)
    return df.copy(), schema


def _fit(df, schema, **params):
    settings = dict(epochs=1, batch_size=8, random_state=0, **SMALL)
    settings.update(params)
    return DGSynthesizer(**settings).fit(df, schema)


def _raises(message, action):
    with pytest.raises(DataError, match=message):
        action()


def _round_trip(df, schema, **encoder_params):
    """Encode and decode; return (decoded frame sorted like the input's series, encoder)."""
    encoder = Encoder(schema, **encoder_params).fit(df)
    data = encoder.transform(df)
    back = encoder.inverse_transform(data.attributes, data.minmax, data.features, data.lengths)
    return back, encoder


def _features_by_series(schema, df, column):
    keys = df[schema.id_column] if schema.id_column else pd.Series(0, index=df.index)
    return [g[column].tolist() for _, g in df.groupby(keys.to_numpy(), sort=False)]


# --------------------------------------------------------------- the frame
def case_not_a_dataframe():
    _, schema = _frame()
    _raises("expected a pandas DataFrame, got list", lambda: _fit([[1, 2]], schema))


def case_empty_frame():
    df, schema = _frame()
    _raises("the DataFrame is empty", lambda: _fit(df.iloc[:0], schema))


def case_missing_column():
    df, schema = _frame()
    _raises(r"columns \['usage'\] named by the schema are not in the DataFrame",
            lambda: _fit(df.drop(columns="usage"), schema))


def case_duplicated_columns():
    df, schema = _frame()
    df = pd.concat([df, df[["usage"]]], axis=1)
    _raises(r"duplicated column names \['usage'\]", lambda: _fit(df, schema))


def case_non_string_column_names():
    df, _ = _frame()
    df.columns = range(df.shape[1])
    _raises(r"DataFrame column name 0 is a int, not a string; rename .*map\(str\)",
            lambda: Schema.infer(df, id_column=0))


def case_extra_columns_ignored():
    df, schema = _frame(n_series=8)
    df["note"] = "x"
    with pytest.warns(UserWarning, match=r"columns \['note'\] are not in the schema"):
        synth = _fit(df, schema)
    assert "note" not in synth.sample(2, random_state=0).columns


# -------------------------------------------------------------- the schema
def case_schema_not_a_dict():
    df, _ = _frame()
    _raises("a schema must be a Schema or a dict, got str", lambda: _fit(df, "usage"))


def case_schema_unknown_key():
    _raises(r"unknown keys \['feature'\]",
            lambda: Schema.from_dict({"feature": {"x": "continuous"}}))


def case_schema_unknown_kind():
    _raises("feature column 'x' has unknown kind 'numeric'",
            lambda: Schema.from_dict({"features": {"x": "numeric"}}))


def case_schema_no_features():
    _raises("schema has no feature columns", lambda: Schema("id", None, {}, {}))


def case_attributes_without_id():
    _raises("attribute columns but no id_column",
            lambda: Schema(None, None, {"a": "categorical"}, {"x": "continuous"}))


def case_column_in_two_roles():
    _raises("column 'x' is given two roles in the schema: id_column and feature",
            lambda: Schema("x", None, {}, {"x": "continuous"}))


def case_non_string_schema_name():
    _raises("feature column name 3 is a int, not a string",
            lambda: Schema("id", None, {}, {3: "continuous"}))


# ------------------------------------------------------- keys and times
def case_missing_series_key():
    df, schema = _frame()
    df["id"] = df["id"].astype(float).where(df.index != 4)
    _raises(r"id column 'id' has missing values at rows \[4\]", lambda: _fit(df, schema))


def case_missing_timestamp():
    df, schema = _frame()
    df["t"] = df["t"].astype(float).where(df.index != 7)
    _raises(r"time column 't' has missing values in series 102 at rows \[7\]",
            lambda: _fit(df, schema))


def case_duplicated_timestamps():
    df, schema = _frame()
    df.loc[1, "t"] = 0
    _raises("time column 't' has duplicated timestamps within series 100, e.g. 0",
            lambda: _fit(df, schema))


def case_unsorted_timestamps():
    df, schema = _frame()
    shuffled = df.sample(frac=1.0, random_state=0)
    back, _ = _round_trip(shuffled, schema)
    # Records are put in time order per series, whatever the row order.
    expected = [g["usage"].tolist() for _, g in df.groupby("id", sort=False)]
    got = _features_by_series(schema, back, "usage")
    order = shuffled["id"].unique()
    expected = [expected[i] for i in pd.Index(df["id"].unique()).get_indexer(order)]
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(expected), rtol=1e-6)


def case_label_time_grid_cannot_extend():
    df, schema = _frame()
    df["t"] = df["t"].map(lambda t: f"step-{t}")
    _raises("time column 't' is neither numeric nor datetime, so its grid cannot be extended",
            lambda: _fit(df, schema, max_sequence_len=5))


# ------------------------------------------------------------ attributes
def case_attribute_varies_within_series():
    df, schema = _frame()
    df.loc[5, "region"] = "w"
    _raises("attribute column 'region' varies within series 101", lambda: _fit(df, schema))


def case_continuous_attribute_missing():
    df, schema = _frame()
    df["size"] = df["size"].astype(float).where(df["id"] != 102)
    _raises(r"continuous attribute column 'size' has missing values \(NaN/None\) in series 102",
            lambda: _fit(df, schema))


def case_categorical_attribute_missing():
    df, schema = _frame()
    df["region"] = df["region"].where(df["id"] != 101)
    back, encoder = _round_trip(df, schema)
    assert encoder.attribute_columns_[0].categories[-1] is None
    assert back.groupby(back["id"], sort=False)["region"].first().isna().tolist() == \
        [False, True, False, False]


def case_infinite_attribute():
    df, schema = _frame()
    df["size"] = df["size"].astype(float).where(df["id"] != 103, -np.inf)
    _raises("column 'size' has infinite values in series 103", lambda: _fit(df, schema))


# -------------------------------------------------------------- features
def case_feature_gap_interpolated():
    df, schema = _frame(length=5)
    df.loc[[1, 2], "usage"] = np.nan  # series 100, records 1 and 2
    with pytest.warns(UserWarning, match=r"filled 2 missing values in continuous features "
                                         r"\['usage'\] by linear interpolation"):
        clean = prepare_frame(df, schema)
    first, last = df.loc[0, "usage"], df.loc[3, "usage"]
    np.testing.assert_allclose(clean["usage"].iloc[:5],
                               [first, first + (last - first) / 3,
                                first + 2 * (last - first) / 3, last, df.loc[4, "usage"]])
    assert df["usage"].isna().sum() == 2  # the caller's frame is untouched


def case_feature_gap_at_series_ends():
    df, schema = _frame(length=4)
    df.loc[[4, 11], "usage"] = np.nan  # first record of series 101, last of series 102
    with pytest.warns(UserWarning, match="filled 2 missing values"):
        clean = prepare_frame(df, schema).set_index(["id", "t"])["usage"]
    assert clean[(101, 0)] == df.loc[5, "usage"]
    assert clean[(102, 3)] == df.loc[10, "usage"]


def case_feature_all_missing_in_series():
    df, schema = _frame()
    df["usage"] = df["usage"].where(df["id"] != 102)
    _raises("column 'usage' is missing \\(NaN\\) in every record of series 102 "
            "\\(1 series in all\\).*invalid_series='drop'", lambda: _fit(df, schema))


def case_feature_all_missing_dropped():
    df, schema = _frame()
    df["usage"] = df["usage"].where(df["id"] != 102)
    with pytest.warns(UserWarning, match="dropped 1 series whose continuous features are "
                                         "missing in every record"):
        clean = prepare_frame(df, schema, invalid_series="drop")
    assert sorted(clean["id"].unique()) == [100, 101, 103]


def case_feature_all_missing_everywhere():
    df, schema = _frame()
    df["usage"] = np.nan
    _raises("missing in every record of every series",
            lambda: _fit(df, schema, invalid_series="drop"))


def case_categorical_feature_missing():
    df, _ = _frame()
    df["state"] = np.where(df.index % 4 == 0, None, "on")
    schema = Schema("id", "t", {}, {"state": "categorical", "usage": "continuous"})
    back, encoder = _round_trip(df, schema)
    assert encoder.feature_columns_[0].categories == ["on", None]
    np.testing.assert_array_equal(back["state"].isna(), df["state"].isna())


def case_infinite_feature():
    df, schema = _frame()
    df.loc[7, "usage"] = np.inf
    _raises(r"column 'usage' has infinite values in series 102 at rows \[7\]",
            lambda: _fit(df, schema))


def case_object_values_in_continuous():
    df, schema = _frame()
    df["usage"] = df["usage"].astype(object)
    df.loc[2, "usage"] = "n/a"
    _raises("continuous column 'usage' holds non-numeric values .* 'n/a' in series 100\\); "
            "convert it to numbers or declare it categorical", lambda: _fit(df, schema))


def case_numeric_strings_in_continuous():
    df, schema = _frame()
    df["usage"] = df["usage"].map(repr).astype(object)
    clean = prepare_frame(df, schema)
    back, _ = _round_trip(clean, schema)
    assert back["usage"].dtype == object
    np.testing.assert_allclose(back["usage"].astype(float), df["usage"].astype(float),
                               rtol=1e-5)


def case_bool_in_continuous():
    df, schema = _frame()
    df["usage"] = df["usage"] > 1
    _raises("continuous column 'usage' holds non-numeric values \\(dtype bool",
            lambda: _fit(df, schema))


def case_unsupported_category_type():
    df, _ = _frame()
    df["pair"] = [(1, 2)] * len(df)
    schema = Schema("id", "t", {}, {"pair": "categorical", "usage": "continuous"})
    _raises("categorical column 'pair' holds a value \\(1, 2\\) of type tuple",
            lambda: _fit(df, schema))


def case_mixed_type_categories():
    df, _ = _frame()
    df["code"] = [1 if i % 2 else "x" for i in range(len(df))]
    schema = Schema("id", "t", {}, {"code": "categorical", "usage": "continuous"})
    back, encoder = _round_trip(df, schema)
    assert set(encoder.feature_columns_[0].categories) == {1, "x"}
    assert back["code"].tolist() == df["code"].tolist()


def case_too_many_categories():
    df, _ = _frame(n_series=40, length=30)
    df["page"] = [f"p{i}" for i in range(len(df))]
    schema = Schema("id", "t", {}, {"page": "categorical", "usage": "continuous"})
    _raises("categorical column 'page' has 1200 distinct values, more than "
            "max_categories=1000.*Group rare values", lambda: _fit(df, schema))


# -------------------------------------------------------------- ranges
def case_constant_column():
    df, schema = _frame()
    df["usage"] = 7.5
    back, encoder = _round_trip(df, schema)
    assert (back["usage"] == 7.5).all()
    assert encoder.feature_columns_[0].min == encoder.feature_columns_[0].max == 7.5


def case_huge_values():
    df, schema = _frame()
    df["usage"] = 1e15 * (1.0 + df["usage"])
    back, _ = _round_trip(df, schema)
    np.testing.assert_allclose(np.sort(back["usage"]), np.sort(df["usage"]), rtol=1e-6)


def case_tiny_range():
    df, schema = _frame()
    df["usage"] = 1.0 + 1e-12 * df["usage"]
    back, _ = _round_trip(df, schema)
    span = df["usage"].max() - df["usage"].min()
    np.testing.assert_allclose(np.sort(back["usage"]), np.sort(df["usage"]),
                               rtol=0, atol=1e-6 * span)


def case_range_overflows():
    df, schema = _frame()
    df["usage"] = np.where(df.index % 2, 1e308, -1e308)
    _raises(r"continuous column 'usage' spans \[-1e\+308, 1e\+308\], a range too wide",
            lambda: _fit(df, schema))


# ------------------------------------------------------------ lengths
def case_series_longer_than_max_sequence_len():
    df, schema = _frame(length=6)
    _raises("series 100 has 6 records, more than max_sequence_len=4 \\(4 series in all\\).*"
            "long_series='truncate' or 'split'", lambda: _fit(df, schema, max_sequence_len=4))


def case_long_series_truncated():
    df, schema = _frame(length=6)
    with pytest.warns(UserWarning, match="cut 4 series to their first 4 records"):
        clean = prepare_frame(df, schema, max_sequence_len=4, long_series="truncate")
    assert clean.groupby("id").size().tolist() == [4, 4, 4, 4]
    assert clean["t"].max() == 3


def case_long_series_split():
    df, schema = _frame(length=6)
    with pytest.warns(UserWarning, match="split 4 series longer than 4 records into 4 more"):
        clean = prepare_frame(df, schema, max_sequence_len=4, long_series="split")
    sizes = clean.groupby("id", sort=False).size()
    assert sizes.to_dict() == {100: 4, 104: 2, 101: 4, 105: 2, 102: 4, 106: 2, 103: 4, 107: 2}
    # A piece keeps its series' attributes and its records in order.
    piece = clean[clean["id"] == 104]
    assert piece["region"].tolist() == [df.loc[0, "region"]] * 2
    assert piece["usage"].tolist() == df["usage"].iloc[4:6].tolist()


def case_long_series_split_string_keys():
    df, schema = _frame(length=5)
    df["id"] = "home-" + df["id"].astype(str)
    with pytest.warns(UserWarning, match="split 4 series"):
        clean = prepare_frame(df, schema, max_sequence_len=3, long_series="split")
    assert clean["id"].unique().tolist()[:2] == ["home-100", "home-100#1"]


def case_unknown_cleaning_option():
    df, schema = _frame()
    _raises(r"long_series must be one of \['error', 'truncate', 'split'\], got 'cut'",
            lambda: _fit(df, schema, long_series="cut"))


def case_single_series():
    df, schema = _frame(n_series=1, length=8)
    _raises(r"id column 'id' has one value \(series 100\): a GAN trained on one series can "
            "only reproduce it, which is a copy, not synthetic data",
            lambda: _fit(df, schema))


def case_fewer_series_than_batch():
    df, schema = _frame(n_series=3)
    synth = _fit(df, schema, batch_size=100, epochs=2)
    assert len(synth.history_) == 2 and np.isfinite(synth.history_["generator_loss"]).all()


def case_no_id_column():
    df, _ = _frame(n_series=1, length=10)
    schema = Schema(None, "t", {}, {"usage": "continuous"})
    _raises("the schema has no id_column, so the whole frame is one series: a GAN trained",
            lambda: _fit(df[["t", "usage"]], schema))


# --------------------------------------------------------- settings
def case_sample_len_too_large():
    df, schema = _frame()
    _raises(r"sample_len=9 does not fit sequences of at most 3 records",
            lambda: _fit(df, schema, sample_len=9))


def case_log_column_not_continuous():
    df, schema = _frame()
    _raises("log_columns names column 'region', which is categorical; only continuous",
            lambda: _fit(df, schema, log_columns=["region"]))
    _raises("log_columns names column 'nope', which is not an attribute or feature",
            lambda: _fit(df, schema, log_columns=["nope"]))
    _raises(r"log_columns must be a list of column names, got 'usage'; write \['usage'\]",
            lambda: _fit(df, schema, log_columns="usage"))


def case_bad_hyperparameter():
    df, schema = _frame()
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        _fit(df, schema, epochs=0)


def case_dp_with_one_series():
    from dgkeras.privacy import resolve_dp_settings

    # A fit refuses one series before its DP settings are resolved.
    _raises("differential privacy needs at least 2 series",
            lambda: resolve_dp_settings(1.0, None, 1.0, None, n_series=1, batch_size=1,
                                        epochs=1, critic_steps=1, noise_source="dgkeras"))


# ------------------------------------------------------------ sampling
def case_sample_unknown_category(fitted):
    _raises("column 'region' \\(given attributes\\) has value 'z', which is not one of the",
            lambda: fitted.sample(attributes=pd.DataFrame(
                {"region": ["z"], "premium": [True], "size": [10]})))


def case_sample_attribute_out_of_range(fitted):
    _raises(r"column 'size' \(given attributes\) has value 1000 outside the training range",
            lambda: fitted.sample(attributes=pd.DataFrame(
                {"region": ["n"], "premium": [True], "size": [1000]})))


def case_sample_bad_n(fitted):
    _raises("n must be a positive integer number of series, got 0", lambda: fitted.sample(0))


def case_sample_bad_length(fitted):
    _raises(r"length must be an integer in \[1, max_sequence_len_=6\], got 7",
            lambda: fitted.sample(2, length=7))


CASES = {name[len("case_"):].replace("_", "-"): fn
         for name, fn in sorted(globals().items()) if name.startswith("case_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, fitted_attributes):
    fn = CASES[case]
    if fn.__code__.co_argcount:
        fn(fitted_attributes[0])
    else:
        fn()


def test_docs_table_lists_every_case():
    rows = re.findall(r"^   \* - ``([a-z0-9-]+)``", DOCS_TABLE.read_text(), flags=re.M)
    assert sorted(rows) == sorted(CASES)
    assert len(CASES) >= 40
