"""Fidelity scores that fit a model: can a classifier tell the sets apart, and does a
forecaster trained on synthetic series predict real ones.

* :func:`discriminative_score`: a gradient-boosted classifier on per-series
  summary statistics (:func:`series_summaries`), cross-validated, tells real
  from synthetic series; reported as ``2 * |accuracy - 0.5|``, 0 when it
  does no better than chance and 1 when it is always right.
* :func:`summary_giveaways`: which of those summaries tells the sets apart,
  one at a time, beside the same between two halves of the real data.
* :func:`predictive_score`: train on synthetic, test on real, as in the
  TimeGAN line of work: a gradient-boosted regressor forecasts each series'
  last records from the records before them and the series' attributes;
  reported as the mean absolute error on real series, on a scale set by the
  real data.
* :func:`ks_distance` and :func:`total_variation`: the distance between
  two sets' distributions of a number or of categories, which
  :func:`summary_giveaways` and :mod:`dgkeras.selection` compare by.
* :func:`split_series`: two random halves of a data set, by series. The same
  score between two halves of the real data is its floor: what sampling noise
  alone gives.

scikit-learn and pandas only; no TensorFlow here.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from .exceptions import DataError
from .schema import CATEGORICAL, Schema
from .series_arrays import category_union, padded_values, sorted_records

#: Categories of a categorical feature whose per-series shares become summary
#: columns (the most common in the real data); the rest are left out.
TOP_FEATURE_CATEGORIES = 20
#: Quantiles of each continuous feature within a series, as summary columns.
QUANTILES = (0.1, 0.5, 0.9)


def split_series(df: pd.DataFrame, schema: Schema, fraction: float = 0.5,
                 random_state: Optional[int] = 0) -> Tuple[pd.DataFrame, pd.DataFrame]:
    """Two random parts of a long DataFrame, whole series in each.

    Parameters
    ----------
    df : pandas.DataFrame
    schema : Schema
        Needs an ``id_column``.
    fraction : float
        Share of the series in the first part.
    random_state : int, optional

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The rows of the first part's series and of the others', in their
        original order.
    """
    if schema.id_column is None:
        raise DataError("split_series needs series: the schema has no id_column")
    ids = pd.unique(df[schema.id_column])
    if len(ids) < 2:
        raise DataError(f"split_series needs at least 2 series, got {len(ids)}")
    rng = np.random.default_rng(random_state)
    first = min(max(int(round(fraction * len(ids))), 1), len(ids) - 1)
    chosen = df[schema.id_column].isin(rng.permutation(ids)[:first])
    return df[chosen], df[~chosen]


def _one_thread():
    """The gradient-boosting models on one OpenMP thread.

    The data are small (one row per series), so more threads gain little, and
    OpenMP's waiting threads slow to a crawl when another process keeps the
    cores busy: a score of MBA took 23.5 s with the default threads beside a
    training process and 5 s on one.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="openmp")


# ------------------------------------------------------------ distances
def ks_distance(real: np.ndarray, synth: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the
    empirical CDFs, in [0, 1]. NaN values are left out; 0 when both sets are
    empty and 1 when one of them is."""
    real = np.sort(real[~np.isnan(real)])
    synth = np.sort(synth[~np.isnan(synth)])
    if len(real) == 0 or len(synth) == 0:
        return float(len(real) != len(synth))
    points = np.concatenate([real, synth])
    gaps = (np.searchsorted(real, points, side="right") / len(real)
            - np.searchsorted(synth, points, side="right") / len(synth))
    return float(np.abs(gaps).max())


def total_variation(real: np.ndarray, synth: np.ndarray) -> float:
    """Total variation distance between the value shares of two sets of
    categories, in [0, 1]. Missing values (None, NaN) are left out."""
    p = pd.Series(real).value_counts(normalize=True)
    q = pd.Series(synth).value_counts(normalize=True)
    if p.empty or q.empty:
        return float(p.empty != q.empty)
    p, q = p.align(q, fill_value=0.0)
    return float(0.5 * np.abs(p - q).sum())


# ------------------------------------------------------------ summaries
def _shared_categories(real: pd.DataFrame, synth: pd.DataFrame,
                       schema: Schema) -> Dict[str, pd.Index]:
    """Every categorical column's values in both sets (:func:`category_union`)."""
    return {c: category_union(real, synth, c) for c, k in
            {**schema.attributes, **schema.features}.items() if k == CATEGORICAL}


def _lag1(values: np.ndarray) -> np.ndarray:
    """Per-series lag-1 autocorrelation of a NaN-padded (n, T) array (0 for constant)."""
    centred = values - np.nanmean(values, axis=1, keepdims=True)
    energy = np.nansum(centred ** 2, axis=1)
    products = np.nansum(centred[:, 1:] * centred[:, :-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(energy > 0, products / np.where(energy > 0, energy, 1.0), 0.0)


def continuous_summary(values: np.ndarray, name: str) -> Dict[str, np.ndarray]:
    """Per-series summary statistics of one continuous feature.

    Parameters
    ----------
    values : ndarray, shape (n, T)
        One row per series, NaN after the series' end.
    name : str
        The feature's name, which starts each statistic's name.

    Returns
    -------
    dict of str to ndarray, shape (n,)
        ``"<name> mean"``, ``std``, ``min``, ``max``, ``first``, ``last``,
        ``lag-1 autocorrelation``, ``mean absolute change`` and the
        :data:`QUANTILES`.
    """
    lengths = (~np.isnan(values)).sum(axis=1)
    last = values[np.arange(len(values)), np.maximum(lengths - 1, 0)]
    out = {f"{name} mean": np.nanmean(values, axis=1),
           f"{name} std": np.nanstd(values, axis=1),
           f"{name} min": np.nanmin(values, axis=1),
           f"{name} max": np.nanmax(values, axis=1),
           f"{name} first": values[:, 0],
           f"{name} last": last,
           f"{name} lag-1 autocorrelation": _lag1(values),
           # 0 for a series of one record, which has no change.
           f"{name} mean absolute change": np.nansum(np.abs(np.diff(values, axis=1)), axis=1)
           / np.maximum(lengths - 1, 1)}
    for q, column in zip(QUANTILES, np.nanquantile(values, QUANTILES, axis=1)):
        out[f"{name} q{int(q * 100)}"] = column
    return out


def _category_shares(df: pd.DataFrame, schema: Schema, column: str, categories: pd.Index,
                     series: pd.Index, lengths: np.ndarray) -> Dict[str, np.ndarray]:
    """Per series (in the order of ``series``), the share of records taking each of the
    first :data:`TOP_FEATURE_CATEGORIES` categories of a categorical feature."""
    codes = categories.get_indexer(df[column].to_numpy(object))
    keys = (df[schema.id_column] if schema.id_column is not None
            else pd.Series(0, index=df.index))
    counts = pd.crosstab(keys.to_numpy(), codes).reindex(series, fill_value=0)
    return {f"{column} share {value}":
            np.asarray(counts[code] if code in counts.columns else 0, float) / lengths
            for code, value in enumerate(categories[:TOP_FEATURE_CATEGORIES])}


def series_summaries(df: pd.DataFrame, schema: Schema,
                     categories: Optional[Dict[str, pd.Index]] = None) -> pd.DataFrame:
    """One row of summary statistics per series, all numeric.

    Columns: each attribute (a categorical one as its code in ``categories``,
    -1 for a value not in them), the series length, and per continuous
    feature its mean, standard deviation, minimum, maximum, first and last
    value, 10th/50th/90th percentiles, lag-1 autocorrelation and mean
    absolute change between records; per categorical feature the share of
    records taking each of its ``categories``.

    Parameters
    ----------
    df : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema
    categories : dict of column -> pandas.Index, optional
        The values to code each categorical column by; by default the values
        in ``df``. Give the same mapping to every set that is compared.

    Returns
    -------
    pandas.DataFrame
        One row per series, in the order of the sorted series ids.
    """
    categories = dict(categories or {})
    for column, kind in {**schema.attributes, **schema.features}.items():
        if kind == CATEGORICAL and column not in categories:
            categories[column] = pd.Index(pd.unique(df[column].to_numpy(object)))
    # In the order of padded_values' rows: series by id, records by time.
    df = sorted_records(df, schema)
    table, series = _attributes_and_lengths(df, schema, categories)
    for column, kind in schema.features.items():
        if kind == CATEGORICAL:
            table.update(_category_shares(df, schema, column, categories[column],
                                          series, table["length"]))
        else:
            table.update(continuous_summary(padded_values(df, schema, column), column))
    return pd.DataFrame(table)


def _attributes_and_lengths(df: pd.DataFrame, schema: Schema,
                            categories: Dict[str, pd.Index]) -> Tuple[Dict[str, np.ndarray],
                                                                      pd.Index]:
    """Per series of records sorted by :func:`sorted_records`: each attribute (a
    categorical one as its code in ``categories``) and ``length``; and the series keys."""
    if schema.id_column is None:
        grouped = df.assign(_series=0).groupby("_series", sort=False)
    else:
        grouped = df.groupby(schema.id_column, sort=False)
    first = grouped.first()
    table: Dict[str, np.ndarray] = {}
    for column, kind in schema.attributes.items():
        table[column] = (categories[column].get_indexer(first[column].to_numpy(object))
                         .astype(float) if kind == CATEGORICAL
                         else first[column].to_numpy(float))
    table["length"] = grouped.size().to_numpy(float)
    return table, first.index


# ------------------------------------------------------- discriminative
def _classifier(columns: List[str], schema: Schema, categories: Dict[str, pd.Index],
                random_state: Optional[int]):
    """The discriminative score's classifier for summary tables of these columns."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    # Codes of categorical attributes are categories to the trees, not magnitudes; the
    # trees take at most 255 of them, so wider ones stay numeric codes.
    is_category = [c in schema.attributes and schema.attributes[c] == CATEGORICAL
                   and len(categories[c]) <= 255 for c in columns]
    return HistGradientBoostingClassifier(
        categorical_features=np.array(is_category) if any(is_category) else None,
        random_state=random_state)


def discriminative_score(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                         n_splits: int = 5, random_state: Optional[int] = 0) -> float:
    """How well a classifier tells real from synthetic series: ``2 * |accuracy - 0.5|``.

    The larger set is subsampled to the smaller one's number of series, so
    chance is 0.5. A histogram gradient-boosting classifier (scikit-learn,
    categorical attributes as categories) reads :func:`series_summaries` and
    is scored by stratified ``n_splits``-fold cross-validation; series with
    equal summaries (a synthetic copy of a real series) share a fold, so
    copies score as indistinguishable rather than below chance.

    Parameters
    ----------
    real, synth : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema
    n_splits : int
        Cross-validation folds; each set needs at least this many series.
    random_state : int, optional
        Seeds the subsampling, the folds and the classifier.

    Returns
    -------
    float
        0 when the classifier does no better than chance, 1 when it is
        always right. Compare it with the same score between two halves of
        the real data (:func:`split_series`).
    """
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_score

    categories = _shared_categories(real, synth, schema)
    a, b = (series_summaries(f, schema, categories) for f in (real, synth))
    n = min(len(a), len(b))
    if n < n_splits:
        raise DataError(f"discriminative_score needs at least n_splits={n_splits} series in "
                        f"each set, got {len(a)} real and {len(b)} synthetic")
    rng = np.random.default_rng(random_state)
    a = a.iloc[np.sort(rng.permutation(len(a))[:n])]
    b = b.iloc[np.sort(rng.permutation(len(b))[:n])]
    x = pd.concat([a, b], ignore_index=True)
    y = np.repeat([0, 1], n)
    # Series with the same summary stay in one fold. Otherwise a synthetic copy of a
    # real series, held out, has its twin in the training folds under the other
    # label, and the classifier is wrong about it more often than chance: sets of
    # copies would score high for being identical.
    groups = pd.factorize(pd.util.hash_pandas_object(x, index=False))[0]
    classifier = _classifier(list(x.columns), schema, categories, random_state)
    folds = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    with _one_thread():
        accuracy = float(np.mean(cross_val_score(classifier, x.to_numpy(float), y,
                                                 groups=groups, cv=folds, scoring="accuracy")))
    return 2 * abs(accuracy - 0.5)


def summary_giveaways(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                      random_state: Optional[int] = 0) -> pd.DataFrame:
    """Which per-series summary tells real from synthetic series, one at a time.

    For each column of :func:`series_summaries`, the discriminative score
    (``2 * |accuracy - 0.5|``, the two sets weighted equally) of the best
    rule that reads that summary alone: for a number, one threshold, whose
    score is the Kolmogorov-Smirnov distance between the real and synthetic
    values; for a categorical attribute, one set of values, whose score is
    their total variation distance. The score is in-sample, so beside it
    ``floor`` is the same between two random halves of the real series
    (:func:`split_series`): what sampling noise alone gives (between sets of
    half the size, so if anything more than it gives the full sets). A summary far
    above its floor is one the generator gets wrong; the medians say which
    way.

    Parameters
    ----------
    real, synth : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema
        Needs an ``id_column`` and at least 2 real series (for the floor).
    random_state : int, optional
        Seeds the halves of the real data.

    Returns
    -------
    pandas.DataFrame
        One row per summary, highest ``score`` first; columns ``score``,
        ``floor``, ``real median`` and ``synthetic median``.
    """
    categories = _shared_categories(real, synth, schema)
    first, second = split_series(real, schema, random_state=random_state)
    tables = [series_summaries(f, schema, categories) for f in (real, synth, first, second)]
    rows = {}
    for column in tables[0].columns:
        categorical = schema.attributes.get(column) == CATEGORICAL
        values = [t[column].to_numpy(float) for t in tables]
        # The best one-threshold rule's 2|accuracy - 0.5| is the KS distance; the best
        # one-set-of-values rule's, the total variation distance.
        distance = total_variation if categorical else ks_distance
        rows[column] = {
            "score": distance(values[0], values[1]),
            "floor": distance(values[2], values[3]),
            "real median": float(np.nanmedian(values[0])) if not categorical else np.nan,
            "synthetic median": float(np.nanmedian(values[1])) if not categorical else np.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table.sort_values("score", ascending=False, kind="stable")


# ------------------------------------------------------- predictive
def _scale(real: pd.DataFrame, schema: Schema) -> Dict[str, Tuple[float, float]]:
    """Per continuous feature: (offset, width) mapping the real 1st..99th percentiles to 0..1."""
    out = {}
    for column in schema.continuous_features:
        low, high = np.nanpercentile(real[column].to_numpy(float), [1, 99])
        out[column] = (float(low), float(high - low) if high > low else 1.0)
    return out


def _forecast_rows(df: pd.DataFrame, schema: Schema, categories: Dict[str, pd.Index],
                   scale: Dict[str, Tuple[float, float]], horizon: int,
                   window: int) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """Inputs and targets of the forecast: one row per series and step ahead.

    A series of length L (> horizon) gives ``horizon`` rows, one per record
    L - horizon + k: its attributes, L, k, and for every continuous feature
    the ``window`` records before L - horizon (scaled, NaN where the series
    is shorter) and their mean; the target is the feature's scaled value at
    that record.
    """
    padded = {c: (padded_values(df, schema, c) - scale[c][0]) / scale[c][1]
              for c in schema.continuous_features}
    # In the rows' order of padded.
    per_series, _ = _attributes_and_lengths(sorted_records(df, schema), schema, categories)
    lengths = per_series["length"].astype(int)
    keep = np.flatnonzero(lengths > horizon)
    cut = lengths[keep] - horizon
    context_index = cut[:, None] - window + np.arange(window)[None, :]
    attributes = np.array([per_series[c][keep] for c in schema.attributes], dtype=float)
    blocks: List[np.ndarray] = [attributes.reshape(len(schema.attributes), len(keep)).T,
                                lengths[keep, None].astype(float)]
    targets = {}
    for column, values in padded.items():
        rows = values[keep]
        context = np.where(context_index >= 0,
                           np.take_along_axis(rows, np.maximum(context_index, 0), axis=1),
                           np.nan)
        blocks += [context, np.nanmean(context, axis=1, keepdims=True)]
        targets[column] = np.take_along_axis(rows, cut[:, None] + np.arange(horizon), axis=1)
    inputs = np.concatenate(blocks, axis=1)
    steps = np.arange(horizon, dtype=float)
    x = np.concatenate([np.repeat(inputs, horizon, axis=0),
                        np.tile(steps, len(inputs))[:, None]], axis=1)
    return x, {c: t.reshape(-1) for c, t in targets.items()}


def _default_horizon(test: pd.DataFrame, schema: Schema) -> int:
    """An eighth of the median length of the test series, between 1 and 8 records."""
    lengths = (test.groupby(schema.id_column, sort=False).size()
               if schema.id_column is not None else pd.Series([len(test)]))
    return int(np.clip(np.median(lengths) // 8, 1, 8))


def predictive_score(train: pd.DataFrame, test: pd.DataFrame, schema: Schema,
                     horizon: Optional[int] = None, window: int = 24,
                     random_state: Optional[int] = 0) -> float:
    """Train on one set, forecast another's last records: mean absolute error.

    Give synthetic series as ``train`` and real ones as ``test`` (train on
    synthetic, test on real); two halves of the real data give the floor.
    Each continuous feature is scaled so that the real (``test``) data's 1st
    to 99th percentiles span 0..1. Per continuous feature, a histogram
    gradient-boosting regressor forecasts each of a series' last
    ``horizon`` records from the ``window`` records before them, the series'
    attributes, its length and the step ahead.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Long data with the schema's columns.
    schema : Schema
        With at least one continuous feature.
    horizon : int, optional
        Records forecast per series; default an eighth of the real median
        length, between 1 and 8. Series of ``horizon`` records or fewer are
        left out.
    window : int
        Records before the forecast that the regressor reads.
    random_state : int, optional

    Returns
    -------
    float
        Mean absolute error over the test series' forecast records and the
        continuous features, in the scaled units; lower is better.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    if not schema.continuous_features:
        raise DataError("predictive_score forecasts continuous features; the schema has none")
    if horizon is None:
        horizon = _default_horizon(test, schema)
    categories = _shared_categories(test, train, schema)
    scale = _scale(test, schema)
    x_train, y_train = _forecast_rows(train, schema, categories, scale, horizon, window)
    x_test, y_test = _forecast_rows(test, schema, categories, scale, horizon, window)
    for name, x in (("train", x_train), ("test", x_test)):
        if not len(x):
            raise DataError(f"predictive_score: no {name} series is longer than "
                            f"horizon={horizon} records")
    # Context records that no training series reaches are left out: a column of NaN
    # alone cannot be binned.
    usable = ~np.isnan(x_train).all(axis=0)
    errors = []
    for column in schema.continuous_features:
        known = ~np.isnan(y_train[column])
        model = HistGradientBoostingRegressor(loss="absolute_error",
                                              random_state=random_state)
        with _one_thread():
            model.fit(x_train[known][:, usable], y_train[column][known])
            errors.append(np.abs(model.predict(x_test[:, usable]) - y_test[column]))
    return float(np.nanmean(np.concatenate(errors)))
