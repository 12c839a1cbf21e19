"""A short real-vs-synthetic text summary: the numbers a newcomer checks first.

Pure pandas: attribute marginals, mean per-series totals by an attribute,
and the mean of each continuous feature along the series.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pandas as pd

from .metrics import series_statistics
from .model_scores import total_variation
from .schema import CATEGORICAL, CONTINUOUS, Schema


def _positions(df: pd.DataFrame, schema: Schema) -> pd.Series:
    if schema.id_column is None:
        return pd.Series(np.arange(len(df)), index=df.index)
    if schema.time_column is not None:
        df = df.sort_values([schema.id_column, schema.time_column], kind="stable")
    return df.groupby(schema.id_column, sort=False).cumcount().reindex(df.index)


def summarize(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
              group_by: Optional[str] = None, top: int = 5, step_every: Optional[int] = None
              ) -> str:
    """Text comparison of real and synthetic data.

    Parameters
    ----------
    real, synth : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema
    group_by : str, optional
        Categorical attribute by which to compare mean per-series totals;
        default: the categorical attribute with the fewest values.
    top : int
        Most frequent categories listed per attribute.
    step_every : int, optional
        Spacing of the record positions listed for per-step means; default
        gives about eight positions.

    Returns
    -------
    str
        A plain-text report.
    """
    real_series, synth_series = series_statistics(real, schema), series_statistics(synth, schema)
    lines = [f"series: real {len(real_series)}, synthetic {len(synth_series)}; "
             f"mean length: real {real_series['length'].mean():.1f}, "
             f"synthetic {synth_series['length'].mean():.1f}"]
    lines += _attribute_lines(real_series, synth_series, schema, top)
    categorical = [c for c, k in schema.attributes.items() if k == CATEGORICAL]
    if group_by is None and categorical:
        group_by = min(categorical, key=lambda c: real_series[c].nunique())
    if group_by is not None:
        lines += _total_lines(real_series, synth_series, group_by)
    lines += _step_lines(real, synth, schema, step_every)
    return "\n".join(lines)


def _attribute_lines(real_series: pd.DataFrame, synth_series: pd.DataFrame, schema: Schema,
                     top: int) -> List[str]:
    """Shares of the ``top`` categories and means of continuous attributes."""
    lines: List[str] = []
    for column, kind in schema.attributes.items():
        if kind != CATEGORICAL:
            continue
        tv = total_variation(real_series[column], synth_series[column])
        lines.append(f"\nattribute {column!r} (total variation distance {tv:.3f}): "
                     "share real -> synthetic")
        real_share = real_series[column].value_counts(normalize=True)
        synth_share = synth_series[column].value_counts(normalize=True)
        for value in real_share.index[:top]:
            lines.append(f"  {str(value):<24} {real_share[value]:6.1%} -> "
                         f"{synth_share.get(value, 0.0):6.1%}")
    for column, kind in schema.attributes.items():
        if kind == CONTINUOUS:
            lines.append(f"\nattribute {column!r}: mean real {real_series[column].mean():.4g}, "
                         f"synthetic {synth_series[column].mean():.4g}")
    return lines


def _total_lines(real_series: pd.DataFrame, synth_series: pd.DataFrame,
                 group_by: str) -> List[str]:
    """Mean per-series totals of each value of ``group_by``."""
    totals = [c for c in real_series.columns if c.endswith(" total")]
    if not totals:
        return []
    lines = [f"\nmean per-series total by {group_by!r}: real -> synthetic"]
    real_means = real_series.groupby(group_by)[totals].mean()
    synth_means = synth_series.groupby(group_by)[totals].mean()
    for value in real_means.index:
        parts = []
        for total in totals:
            synthetic = synth_means[total].get(value, np.nan)
            parts.append(f"{total[:-6]} {real_means.loc[value, total]:.4g} -> {synthetic:.4g}")
        lines.append(f"  {str(value):<24} " + "; ".join(parts))
    return lines


def _step_lines(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                step_every: Optional[int]) -> List[str]:
    """Per-step means of the continuous features at spaced record positions."""
    continuous = schema.continuous_features
    if not continuous:
        return []
    real_pos, synth_pos = _positions(real, schema), _positions(synth, schema)
    longest = int(real_pos.max()) + 1
    shown = list(range(0, longest, step_every or max(1, longest // 8)))
    lines = ["\nper-step mean (record position: real -> synthetic)"]
    for column in continuous:
        real_curve = real.groupby(real_pos)[column].mean()
        synth_curve = synth.groupby(synth_pos)[column].mean()
        common = real_curve.index.intersection(synth_curve.index)
        corr = (np.corrcoef(real_curve[common], synth_curve[common])[0, 1]
                if len(common) > 2 and synth_curve[common].std() > 0 else np.nan)
        lines.append(f"  {column} (correlation of the curves {corr:.2f})")
        lines.append("    " + ", ".join(
            f"{p}: {real_curve.get(p, np.nan):.3g}->{synth_curve.get(p, np.nan):.3g}"
            for p in shown))
    return lines
