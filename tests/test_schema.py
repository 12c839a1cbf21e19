"""Schema: roles, kinds, dict round trip, inference and validation errors."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import attribute_frame

from dgkeras import DataError, Schema


def test_dict_round_trip_is_json():
    schema = Schema("page", "date", {"domain": "categorical", "age": "continuous"},
                    {"views": "continuous", "status": "categorical"})
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_infer_roles_and_kinds(mba):
    df, schema = mba
    assert Schema.infer(df, id_column="home_id", time_column="period") == schema
    frame, expected = attribute_frame()
    inferred = Schema.infer(frame, id_column="id", time_column="t")
    assert inferred.attributes == {"region": "categorical", "premium": "categorical",
                                   "size": "continuous"}
    assert inferred.features == {"usage": "continuous"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(features={}), "no feature columns"),
    (dict(attributes={"a": "categorical"}, features={"x": "continuous"}), "no id_column"),
    (dict(id_column="i", features={"x": "numeric"}), "unknown kind 'numeric'"),
    (dict(id_column="x", features={"x": "continuous"}), "column 'x' is given two roles"),
])
def test_bad_schema(kwargs, message):
    with pytest.raises(DataError, match=message):
        Schema(**kwargs)


def test_unknown_dict_key():
    with pytest.raises(DataError, match=r"unknown keys \['feature'\]"):
        Schema.from_dict({"feature": {"x": "continuous"}})


def _frame():
    df, schema = attribute_frame(n_series=4, length=3)
    return df.copy(), schema


@pytest.mark.parametrize("mutate, message", [
    (lambda df: df.iloc[:0], "empty"),
    (lambda df: df.drop(columns="usage"), r"columns \['usage'\] named by the schema"),
    (lambda df: df.assign(size=df["size"].where(df.index != 4)),
     r"continuous attribute column 'size' has missing values .* series 101 at rows \[4\]"),
    (lambda df: df.assign(usage=df.usage.where(df.index != 7, np.inf)),
     "column 'usage' has infinite values in series 102"),
    (lambda df: df.assign(usage=df.usage.astype(object).where(df.index != 2, "n/a")),
     r"continuous column 'usage' holds non-numeric values .* 'n/a' in series 100"),
    (lambda df: df.assign(region=df.region.where(df.index != 5, "w")),
     "attribute column 'region' varies within series 101"),
    (lambda df: df.assign(t=df.t.where(df.index != 1, 0)),
     "duplicated timestamps within series 100"),
])
def test_validation_names_column_series_and_problem(mutate, message):
    df, schema = _frame()
    with pytest.raises(DataError, match=message):
        schema.validate(mutate(df))


def test_duplicated_column_names():
    df, schema = _frame()
    df = pd.concat([df, df[["usage"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicated column names \['usage'\]"):
        schema.validate(df)


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


def test_continuous_features_lists_only_continuous_features_in_order():
    schema = Schema("id", "t", {"size": "continuous"},
                    {"b": "continuous", "kind": "categorical", "a": "continuous"})
    assert schema.continuous_features == ["b", "a"]
