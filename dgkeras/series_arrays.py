"""Per-series arrays from a long DataFrame, for the metrics and the model-fitting scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import Schema


def sorted_records(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The records sorted by series id, then time (stable)."""
    keys = [c for c in (schema.id_column, schema.time_column) if c is not None]
    return df.sort_values(keys, kind="stable") if keys else df


def padded_values(df: pd.DataFrame, schema: Schema, column: str) -> np.ndarray:
    """A (n_series, longest) float array of one feature, NaN after each series' end."""
    df = sorted_records(df, schema)
    if schema.id_column is None:
        return df[column].to_numpy(dtype=float)[None, :]
    codes, _ = pd.factorize(df[schema.id_column], sort=False)
    positions = df.groupby(schema.id_column, sort=False).cumcount().to_numpy()
    out = np.full((codes.max() + 1, positions.max() + 1), np.nan)
    out[codes, positions] = df[column].to_numpy(dtype=float)
    return out


def category_union(real: pd.DataFrame, synth: pd.DataFrame, column: str) -> pd.Index:
    """Values of a categorical column in both sets, real first, each once."""
    return pd.Index(pd.unique(np.concatenate([real[column].to_numpy(object),
                                              synth[column].to_numpy(object)])))
