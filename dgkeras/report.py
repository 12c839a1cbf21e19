"""A fidelity report: real vs synthetic in pictures (PNG) and numbers (JSON, Markdown).

:func:`fidelity_report` writes to a folder:

* ``autocorrelation.png``: each continuous feature's autocorrelation curve,
  averaged over series (paper Fig. 1);
* ``attributes.png``: each attribute's marginal (shares of the most common
  categories, or a histogram);
* ``lengths.png``: the distribution of series lengths;
* ``totals_cdf.png``: CDFs of per-series totals of the first continuous
  features, for the most common values of the first categorical attribute
  (paper Table 2);
* ``nearest.png``: a few synthetic series beside their nearest real series,
  to spot copying at a glance;
* ``summary.json`` and ``summary.md``: the numbers of
  :func:`dgkeras.metrics.fidelity_summary`, the discriminative and predictive
  scores, SDMetrics' sequential scores where it is installed, and each figure's
  real-vs-real floor (the same figure between two random halves of the real
  series; :func:`dgkeras.metrics.fidelity_with_floor`), and the per-series
  summaries that tell the sets apart most (:data:`TOP_GIVEAWAYS` rows of
  :func:`dgkeras.metrics.summary_giveaways`).

Plots are drawn with matplotlib's Agg canvas, without pyplot, so no display
is needed and no global backend is changed. No TensorFlow here.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import pandas as pd

from .exceptions import DataError
from .metrics import (
    autocorrelation,
    fidelity_summary,
    fidelity_with_floor,
    nearest_distances,
    padded_values,
    series_statistics,
    summary_giveaways,
)
from .schema import CATEGORICAL, Schema

REAL_COLOR, SYNTH_COLOR = "#1f77b4", "#d62728"
#: Categories shown per attribute; the rest are pooled as "other".
TOP_CATEGORIES = 12
#: Attribute values (panels) in the totals CDF plot.
TOP_GROUPS = 4
#: Series each set needs for the floor and the model-fitting scores: five
#: cross-validation folds in each half of the real series.
FLOOR_SERIES = 10
#: Per-series summaries listed under "giveaways": those that tell real from
#: synthetic series most, read one at a time.
TOP_GIVEAWAYS = 5


def fidelity_report(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    schema: Union[Schema, Mapping[str, Any]],
    out_dir: "str | os.PathLike",
    title: str = "dgkeras fidelity report",
    by: Optional[str] = None,
    max_lag: Optional[int] = None,
    n_nearest: int = 4,
    random_state: Optional[int] = 0,
) -> Dict[str, Any]:
    """Write plots and a summary comparing synthetic data with real data.

    Parameters
    ----------
    real, synth : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema or dict
    out_dir : str or path-like
        Folder to write to; created if missing. Existing report files in it
        are replaced.
    title : str
        Heading of ``summary.md``.
    by : str, optional
        A categorical attribute to break per-series totals down by (W1 per
        value and one CDF panel per common value); default the first
        categorical attribute.
    max_lag : int, optional
        Longest autocorrelation lag to plot; default the longest series.
    n_nearest : int
        Synthetic series drawn beside their nearest real series.
    random_state : int, optional
        Seeds the halves of the real data and the scores' models.

    Returns
    -------
    dict
        The summary written to ``summary.json``: the synthetic figures, under
        ``real_vs_real`` the same figures between two halves of the real
        series (absent, with the model-fitting scores, when either set has
        fewer than :data:`FLOOR_SERIES` series), and the list of ``plots``.
    """
    schema = Schema.from_dict(schema)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if by is None:
        by = next((c for c, k in schema.attributes.items() if k == CATEGORICAL), None)
    elif schema.attributes.get(by) != CATEGORICAL:
        raise DataError(f"by={by!r} is not a categorical attribute of the schema")
    summary = _figures(real, synth, schema, [by] if by else None, random_state)
    summary["plots"] = _write_plots(real, synth, schema, out, max_lag=max_lag,
                                    n_nearest=n_nearest, by=by)
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n",
                                      encoding="utf-8")
    (out / "summary.md").write_text(_markdown(summary, title), encoding="utf-8")
    return summary


# ---------------------------------------------------------------- helpers
def _figures(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
             groups: Optional[List[str]], random_state: Optional[int]) -> Dict[str, Any]:
    """The counts of series and every figure, with the floor where both sets allow it."""
    counts = {"real_series": _count_series(real, schema),
              "synthetic_series": _count_series(synth, schema)}
    if min(counts.values()) < FLOOR_SERIES:
        return {**counts, **fidelity_summary(real, synth, schema, by=groups)}
    figures = fidelity_with_floor(real, synth, schema, by=groups, random_state=random_state)
    giveaways = summary_giveaways(real, synth, schema, random_state=random_state)
    return {**counts, **figures["synthetic"], "real_vs_real": figures["real_vs_real"],
            "giveaways": [{"summary": name, **row} for name, row in
                          giveaways.head(TOP_GIVEAWAYS).to_dict("index").items()]}


def _write_plots(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema, out: Path,
                 **options: Any) -> List[str]:
    """Draw and save every plot that applies to this data; return their file names."""
    plots: List[str] = []
    for name, draw in (("autocorrelation.png", _plot_autocorrelation),
                       ("attributes.png", _plot_attributes),
                       ("lengths.png", _plot_lengths),
                       ("totals_cdf.png", _plot_totals),
                       ("nearest.png", _plot_nearest)):
        figure = draw(real, synth, schema, **options)
        if figure is not None:
            figure.savefig(out / name, dpi=110)
            plots.append(name)
    return plots


def _count_series(df: pd.DataFrame, schema: Schema) -> int:
    return int(df[schema.id_column].nunique()) if schema.id_column is not None else 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _figure(n_panels: int, width: float = 4.2, height: float = 3.0, columns: int = 3):
    from matplotlib.figure import Figure

    columns = min(columns, n_panels)
    rows = math.ceil(n_panels / columns)
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return figure, axes[:n_panels]


def _legend(ax) -> None:
    ax.legend(frameon=False, fontsize="small")


# ----------------------------------------------------------------- plots
def _plot_autocorrelation(real, synth, schema, max_lag=None, **_):
    columns = schema.continuous_features
    if not columns:
        return None
    figure, axes = _figure(len(columns))
    for ax, column in zip(axes, columns):
        real_acf = autocorrelation(real, schema, column, max_lag)
        synth_acf = autocorrelation(synth, schema, column, max_lag)
        lags = np.arange(max(len(real_acf), len(synth_acf)))
        ax.plot(lags[:len(real_acf)], real_acf, color=REAL_COLOR, label="real")
        ax.plot(lags[:len(synth_acf)], synth_acf, color=SYNTH_COLOR, label="synthetic",
                linestyle="--")
        ax.axhline(0, color="0.7", linewidth=0.8)
        ax.set(title=f"{column}", xlabel="lag (records)", ylabel="autocorrelation")
        _legend(ax)
    figure.suptitle("Autocorrelation, averaged over series")
    return figure


def _plot_attributes(real, synth, schema, **_):
    if not schema.attributes:
        return None
    table_real, table_synth = series_statistics(real, schema), series_statistics(synth, schema)
    figure, axes = _figure(len(schema.attributes), width=5.0, height=3.4)
    for ax, (column, kind) in zip(axes, schema.attributes.items()):
        if kind == CATEGORICAL:
            _category_bars(ax, table_real[column], table_synth[column])
        else:
            values = table_real[column].to_numpy(float)
            edges = np.histogram_bin_edges(values, bins=20)
            ax.hist(values, edges, density=True, alpha=0.5, color=REAL_COLOR, label="real")
            ax.hist(np.clip(table_synth[column].to_numpy(float), edges[0], edges[-1]), edges,
                    density=True, alpha=0.5, color=SYNTH_COLOR, label="synthetic")
            ax.set(xlabel=column, ylabel="density")
            _legend(ax)
        ax.set_title(f"{column} ({kind})")
    figure.suptitle("Attribute distributions, one value per series")
    return figure


def _category_bars(ax, real: pd.Series, synth: pd.Series) -> None:
    real_share = real.astype(object).fillna("<missing>").value_counts(normalize=True)
    synth_share = synth.astype(object).fillna("<missing>").value_counts(normalize=True)
    shown = list(real_share.index[:TOP_CATEGORIES])
    labels = [str(v) for v in shown]
    real_values = [real_share.get(v, 0.0) for v in shown]
    synth_values = [synth_share.get(v, 0.0) for v in shown]
    if len(real_share) > TOP_CATEGORIES:
        labels.append("other")
        real_values.append(1.0 - sum(real_values))
        synth_values.append(max(0.0, 1.0 - sum(synth_values)))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, real_values, 0.4, color=REAL_COLOR, label="real")
    ax.bar(x + 0.2, synth_values, 0.4, color=SYNTH_COLOR, label="synthetic")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize="small")
    ax.set_ylabel("share of series")
    _legend(ax)


def _plot_lengths(real, synth, schema, **_):
    real_len = series_statistics(real, schema)["length"].to_numpy()
    synth_len = series_statistics(synth, schema)["length"].to_numpy()
    figure, (ax,) = _figure(1, width=5.0)
    top = max(real_len.max(), synth_len.max())
    edges = np.linspace(0.5, top + 0.5, min(40, top) + 1)
    ax.hist(real_len, edges, alpha=0.5, color=REAL_COLOR, density=True, label="real")
    ax.hist(synth_len, edges, alpha=0.5, color=SYNTH_COLOR, density=True, label="synthetic")
    ax.set(title="Series length", xlabel="records per series", ylabel="density")
    _legend(ax)
    return figure


def _plot_totals(real, synth, schema, by=None, **_):
    columns = schema.continuous_features[:2]
    if not columns:
        return None
    group = by
    table_real, table_synth = series_statistics(real, schema), series_statistics(synth, schema)
    if group is None:
        values = [None]
    else:
        values = list(table_real[group].value_counts().index[:TOP_GROUPS])
    figure, axes = _figure(len(columns) * len(values), columns=len(values))
    panels = [(c, v) for c in columns for v in values]
    for ax, (column, value) in zip(axes, panels):
        statistic = f"{column} total"
        a, b = table_real[statistic], table_synth[statistic]
        if value is not None:
            a, b = a[table_real[group] == value], b[table_synth[group] == value]
        for data, color, label in ((a, REAL_COLOR, "real"), (b, SYNTH_COLOR, "synthetic")):
            data = np.sort(data.to_numpy(float))
            if len(data):
                ax.step(data, np.arange(1, len(data) + 1) / len(data), where="post",
                        color=color, label=f"{label} ({len(data)})")
        where = "all series" if value is None else f"{group} = {value}"
        ax.set(title=f"{column}: {where}", xlabel="total over the series", ylabel="CDF")
        _legend(ax)
    figure.suptitle("Per-series totals")
    return figure


def _plot_nearest(real, synth, schema, n_nearest=4, **_):
    columns = schema.continuous_features
    if not columns or n_nearest < 1:
        return None
    column = columns[0]
    a, b = padded_values(real, schema, column), padded_values(synth, schema, column)
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])), constant_values=np.nan)
    chosen = np.linspace(0, len(b) - 1, min(n_nearest, len(b))).astype(int)
    # The nearest real series of each chosen synthetic one, by Euclidean distance
    # with zeros after each series' end.
    nearest_d, nearest = nearest_distances(np.nan_to_num(b[chosen]), np.nan_to_num(a),
                                           return_index=True)
    figure, axes = _figure(len(chosen), width=4.6, columns=2)
    for ax, i, j, d in zip(axes, chosen, nearest, nearest_d):
        ax.plot(b[i], color=SYNTH_COLOR, label="synthetic")
        ax.plot(a[j], color=REAL_COLOR, alpha=0.8, label="nearest real")
        ax.set(title=f"synthetic series {i}: distance {d:.3g}", xlabel="record",
               ylabel=column)
        _legend(ax)
    figure.suptitle(f"Synthetic series beside their nearest real series ({column})")
    return figure


# -------------------------------------------------------------- markdown
def _markdown(summary: Dict[str, Any], title: str) -> str:
    floor = summary.get("real_vs_real")
    lines = [f"# {title}", "",
             f"Real series: {summary['real_series']}; synthetic series: "
             f"{summary['synthetic_series']}.", "",
             "Lower is better everywhere (but for the sdmetrics scores, where 1 is best); "
             "0 means identical distributions. The floor is the same figure between two "
             "random halves of the real series: what sampling noise alone gives." if floor else
             f"Lower is better everywhere; 0 means identical distributions. Too few series "
             f"for the real-vs-real floor and the model-fitting scores (each set needs "
             f"{FLOOR_SERIES}).", "",
             "| measure | synthetic | real vs real (floor) |", "|---|---|---|"]
    for key, value in summary.items():
        if key in ("real_series", "synthetic_series", "plots", "real_vs_real", "giveaways"):
            continue
        other = (floor or {}).get(key)
        if isinstance(value, dict):
            for sub, v in value.items():
                below = _number(other.get(sub)) if isinstance(other, dict) else "-"
                lines.append(f"| {key}: {sub} | {_number(v)} | {below} |")
        else:
            lines.append(f"| {key} | {_number(value)} | "
                         f"{'-' if other is None else _number(other)} |")
    lines += ["", "* autocorrelation_mse: mean squared difference of the autocorrelation "
              "curves, per continuous feature.",
              "* attribute_jsd: Jensen-Shannon divergence (base 2, 0..1) of each "
              "attribute's marginal.",
              "* w1: Wasserstein-1 distance of a per-series statistic (total, (max+min)/2, "
              "length), in the column's own units.",
              "* discriminative_score: 2 |accuracy - 0.5| of a gradient-boosted classifier "
              "telling real from synthetic series by their summary statistics "
              "(cross-validated): 0 indistinguishable, 1 always told apart.",
              "* predictive_score: mean absolute error forecasting real series' last "
              "records with a model trained on the synthetic ones, on the real data's "
              "1st..99th percentile range as 0..1."]
    if "sdmetrics" in summary:
        lines.append("* sdmetrics: SDMetrics' sequential scores, 1 - the Kolmogorov-Smirnov "
                     "statistic of series lengths, of per-series statistics and of changes "
                     "between records: 1 the same distribution, 0 no overlap.")
    if summary.get("giveaways"):
        lines += ["", "## What tells the synthetic series apart most", "",
                  "Each per-series summary read alone: the discriminative score of one "
                  "threshold on it (one set of values for a categorical attribute), beside "
                  "the same between the halves of the real series. A score far above its "
                  "floor is something the generator gets wrong.", "",
                  "| summary | score | floor | real median | synthetic median |",
                  "|---|---|---|---|---|"]
        lines += [f"| {row['summary']} | {_number(row['score'])} | {_number(row['floor'])} | "
                  f"{_number(row['real median'])} | {_number(row['synthetic median'])} |"
                  for row in summary["giveaways"]]
    lines.append("")
    lines += [f"![{name}]({name})" for name in summary.get("plots", [])]
    return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    if isinstance(value, (int, np.integer)):
        return str(value)
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)
