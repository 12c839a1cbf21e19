"""Turn a validated long DataFrame into one the encoder can model, saying what changed.

Real traces have gaps, dead sensors and series longer than a model should
generate. :func:`prepare_frame` handles each case by a documented rule and
warns about every change it makes; the caller's frame is never modified (a
copy is made only when something must change):

* a gap (NaN) in a continuous feature is filled by linear interpolation
  between the neighbouring records of the same series, by position; gaps at
  the start or end of a series take the nearest value;
* a series whose continuous feature is missing in every record cannot be
  filled: it raises :class:`~dgkeras.DataError`, or is dropped with a warning
  when ``invalid_series="drop"``;
* a series longer than ``max_sequence_len`` raises, or is cut to its first
  ``max_sequence_len`` records (``long_series="truncate"``), or is cut into
  consecutive series of at most that many records (``long_series="split"``);
* a categorical column with more than ``max_categories`` values is refused
  with advice, because its one-hot block would dominate the networks.

Missing values in categorical columns need no change here: they become a
category of their own (see :mod:`dgkeras.columns`). No TensorFlow here.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pandas as pd

from .encoding import series_order
from .exceptions import DataError, series_label
from .params import check
from .schema import CATEGORICAL, Schema


def prepare_frame(
    df: pd.DataFrame,
    schema: Schema,
    max_sequence_len: Optional[int] = None,
    invalid_series: str = "error",
    long_series: str = "error",
    max_categories: int = 1000,
) -> pd.DataFrame:
    """Validate ``df`` against ``schema`` and apply the rules of this module.

    Parameters
    ----------
    df : pandas.DataFrame
        Long data, one row per record. Not modified.
    schema : Schema
        Roles and kinds of the columns.
    max_sequence_len : int or None
        Longest series to keep; None keeps every length.
    invalid_series : {"error", "drop"}
        What to do with a series that has a continuous feature missing in
        every record.
    long_series : {"error", "truncate", "split"}
        What to do with a series longer than ``max_sequence_len``.
    max_categories : int
        Most distinct values a categorical column may have.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself when nothing had to change, else a new frame sorted by
        series and time.

    Raises
    ------
    DataError
        Naming the column, the series and the problem.
    """
    for name, value in [("invalid_series", invalid_series), ("long_series", long_series),
                        ("max_categories", max_categories)]:
        check(name, value)
    schema.validate(df)
    _check_category_counts(df, schema, max_categories)
    df = _drop_unfillable_series(df, schema, invalid_series)
    df = _fill_gaps(df, schema)
    if max_sequence_len is not None:
        df = _cut_long_series(df, schema, int(max_sequence_len), long_series)
    return df


def _check_category_counts(df: pd.DataFrame, schema: Schema, max_categories: int) -> None:
    for column, kind in {**schema.attributes, **schema.features}.items():
        if kind != CATEGORICAL:
            continue
        count = df[column].nunique(dropna=False)
        if count > max_categories:
            raise DataError(
                f"categorical column {column!r} has {count} distinct values, more than "
                f"max_categories={max_categories}: its one-hot block would dominate the "
                "networks and most values are too rare to learn. Group rare values into "
                "one (e.g. 'other'), declare the column continuous if its values are "
                "ordered numbers, or raise max_categories"
            )


def _series_name(schema: Schema, key) -> str:
    return "the single series" if schema.id_column is None else series_label(key)


def _drop_unfillable_series(df: pd.DataFrame, schema: Schema, invalid_series: str
                            ) -> pd.DataFrame:
    columns = [c for c in schema.continuous_features if df[c].isna().any()]
    if not columns:
        return df
    keys = df[schema.id_column] if schema.id_column is not None else pd.Series(0, df.index)
    all_missing = df[columns].isna().groupby(keys.to_numpy(), sort=False).all()
    bad = all_missing.any(axis=1)
    if not bad.any():
        return df
    first = bad.index[bad.to_numpy()][0]
    column = all_missing.columns[all_missing.loc[first].to_numpy()][0]
    where = _series_name(schema, first)
    if invalid_series == "error":
        raise DataError(
            f"column {column!r} is missing (NaN) in every record of {where} "
            f"({int(bad.sum())} series in all), so it cannot be filled in; drop those "
            "series, or pass invalid_series='drop' to have them dropped"
        )
    if schema.id_column is None or bad.all():
        raise DataError(
            f"column {column!r} is missing in every record of every series; nothing is left "
            "to model"
        )
    dropped = bad.index[bad.to_numpy()]
    warnings.warn(
        f"dropped {len(dropped)} series whose continuous features are missing in every "
        f"record (e.g. {where}, column {column!r})", UserWarning, stacklevel=4)
    return df[~keys.isin(dropped).to_numpy()]


def _fill_gaps(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    columns = [c for c in schema.continuous_features if df[c].isna().any()]
    if not columns:
        return df
    _, order, codes, _, lengths = series_order(df, schema)
    df = df.iloc[order].copy()
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[codes]
    filled = 0
    for column in columns:
        original = df[column].dtype
        values = pd.to_numeric(df[column]).to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(values)
        filled += int(missing.sum())
        values = _interpolate_within(values, missing, starts, starts + lengths[codes])
        if pd.api.types.is_integer_dtype(original):  # nullable Int64 and the like
            values = pd.array(np.rint(values).astype(np.int64), dtype=original)
        df[column] = values
    warnings.warn(
        f"filled {filled} missing values in continuous features {columns} by linear "
        "interpolation within their series", UserWarning, stacklevel=4)
    return df


def _interpolate_within(values: np.ndarray, missing: np.ndarray, starts: np.ndarray,
                        ends: np.ndarray) -> np.ndarray:
    """Linear interpolation by position inside each contiguous series [start, end).

    Every series has at least one value (unfillable ones are gone by now).
    """
    index = np.arange(len(values))
    before = np.maximum.accumulate(np.where(missing, -1, index))
    after = np.minimum.accumulate(np.where(missing, len(values), index)[::-1])[::-1]
    has_before = before >= starts
    has_after = after < ends
    before = np.where(has_before, before, after)
    after = np.where(has_after, after, before)
    gap = (after - before).astype(np.float64)
    weight = np.divide(index - before, gap, out=np.zeros(len(values)), where=gap > 0)
    interpolated = values[before] + weight * (values[after] - values[before])
    return np.where(missing, interpolated, values)


def _cut_long_series(df: pd.DataFrame, schema: Schema, max_len: int, long_series: str
                     ) -> pd.DataFrame:
    ids, order, codes, positions, lengths = series_order(df, schema)
    too_long = np.flatnonzero(lengths > max_len)
    if not len(too_long):
        return df
    longest = int(too_long[np.argmax(lengths[too_long])])
    where = _series_name(schema, ids[longest])
    if long_series == "error":
        raise DataError(
            f"{where} has {int(lengths[longest])} records, more than max_sequence_len="
            f"{max_len} ({len(too_long)} series in all); raise max_sequence_len, or pass "
            "long_series='truncate' or 'split'"
        )
    df = df.iloc[order]
    if long_series == "truncate":
        warnings.warn(f"cut {len(too_long)} series to their first {max_len} records",
                      UserWarning, stacklevel=4)
        return df[positions < max_len]
    if schema.id_column is None:
        raise DataError(
            "long_series='split' needs an id_column to tell the pieces of the series apart"
        )
    part = positions // max_len
    warnings.warn(f"split {len(too_long)} series longer than {max_len} records into "
                  f"{int((np.ceil(lengths[too_long] / max_len) - 1).sum())} more series",
                  UserWarning, stacklevel=4)
    df = df.copy()
    df[schema.id_column] = _piece_ids(df[schema.id_column], part)
    return df


def _piece_ids(keys: pd.Series, part: np.ndarray) -> pd.Series:
    """Keys for the pieces of split series: piece 0 keeps its key, others get new ones.

    Integer keys continue after the largest key; other keys get ``"<key>#<piece>"``.
    """
    later = part > 0
    if pd.api.types.is_integer_dtype(keys.dtype) and not pd.api.types.is_bool_dtype(keys.dtype):
        pieces = pd.factorize(pd.MultiIndex.from_arrays([keys[later], part[later]]))[0]
        new = keys.copy()
        new[later] = int(keys.max()) + 1 + pieces
        return new
    new = keys.astype(str).astype(object)
    new[later] = new[later] + "#" + pd.Series(part[later], index=new.index[later]).astype(str)
    if isinstance(keys.dtype, pd.CategoricalDtype):
        return new.astype("category")
    return new
