"""Fidelity and privacy metrics comparing real and synthetic long DataFrames.

Every metric takes long DataFrames (one row per record) and the
:class:`~dgkeras.Schema` and uses numpy, scipy and scikit-learn only.
They follow the evaluation of the DoppelGANger paper:

* :func:`autocorrelation` (:func:`autocorrelation_curve` on padded arrays),
  :func:`autocorrelation_mse` (Fig. 1, Table 3);
* :func:`attribute_jsd`: Jensen-Shannon divergence of attribute marginals;
* :func:`series_statistics`, :func:`statistic_w1`: Wasserstein-1 distance of
  per-series totals, (max + min) / 2 and lengths, overall or per attribute
  value (Table 2, Fig. 7);
* :func:`feature_correlations`: per-series Pearson correlation between two
  features (Fig. 8);
* :func:`tstr`: train-on-synthetic / test-on-real accuracy of several
  scikit-learn models and the rank correlation of the models (Fig. 13, Table 5);
* :func:`memorization_distances`: nearest-training-series distances of
  synthetic series against training-to-holdout distances (App. C).

and, from :mod:`dgkeras.model_scores`, the scores later work on time-series
generation compares by, each to be read beside its real-vs-real floor:

* :func:`discriminative_score`: how well a classifier tells real from
  synthetic series;
* :func:`summary_giveaways`: which per-series summary, read alone, tells
  them apart, beside its floor;
* :func:`predictive_score`: train on synthetic, forecast real series;
* :func:`split_series`: two random halves of the real series, between which
  the same figures give the floor (:func:`fidelity_with_floor`).

With the optional ``sdmetrics`` extra, :func:`sdmetrics_scores` gives
SDMetrics' sequential scores (:mod:`dgkeras.sdmetrics_scores`; higher is
better there).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import spearmanr, wasserstein_distance

from .encoding import Encoder
from .exceptions import DataError
from .model_scores import (  # noqa: F401 (series_summaries: part of this module's API)
    discriminative_score,
    predictive_score,
    series_summaries,
    split_series,
    summary_giveaways,
)
from .schema import CATEGORICAL, Schema
from .sdmetrics_scores import sdmetrics_installed, sdmetrics_scores
from .series_arrays import category_union, padded_values


# ----------------------------------------------------- autocorrelation
def autocorrelation(df: pd.DataFrame, schema: Schema, column: str,
                    max_lag: Optional[int] = None) -> np.ndarray:
    """Autocorrelation of a feature at lags 0..max_lag, averaged over series.

    Each series' autocorrelation is the biased estimator
    ``sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2``; constant series are
    left out. Lags a series is too short for do not count for it.

    Parameters
    ----------
    df : pandas.DataFrame
    schema : Schema
    column : str
        A continuous feature.
    max_lag : int, optional
        Default: the longest series length - 1.

    Returns
    -------
    numpy.ndarray of shape (max_lag + 1,)
    """
    return autocorrelation_curve(padded_values(df, schema, column), max_lag)


def autocorrelation_curve(values: np.ndarray, max_lag: Optional[int] = None) -> np.ndarray:
    """Autocorrelation at lags 0..max_lag, averaged over the series of a padded array.

    The estimator of :func:`autocorrelation`, on one row per series with NaN
    after each series' end.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_series, max_len)
    max_lag : int, optional
        Default: ``max_len - 1``.

    Returns
    -------
    numpy.ndarray of shape (max_lag + 1,)
        NaN at the lags no varying series covers.
    """
    lengths = (~np.isnan(values)).sum(axis=1)
    with np.errstate(all="ignore"):  # an all-NaN row (a series of length 0) has no mean
        centred = np.nan_to_num(values - np.nanmean(values, axis=1, keepdims=True))
    energy = (centred ** 2).sum(axis=1)
    varying = energy > 0
    centred, energy, lengths = centred[varying], energy[varying], lengths[varying]
    max_lag = values.shape[1] - 1 if max_lag is None else int(max_lag)
    # Every lag's sum of products at once, as the inverse transform of the power
    # spectrum; zero-padding to twice the length keeps the ends from wrapping
    # round, and the zeros past each series' end keep its lags its own.
    n_fft = 1 << int(np.ceil(np.log2(max(2 * values.shape[1] - 1, max_lag + 1, 1))))
    spectrum = np.fft.rfft(centred, n_fft, axis=1)
    products = np.fft.irfft(spectrum * spectrum.conj(), n_fft, axis=1)[:, : max_lag + 1]
    covering = lengths[:, None] > np.arange(max_lag + 1)
    counts = covering.sum(axis=0)
    with np.errstate(all="ignore"):  # a lag no series covers is NaN
        acf = np.where(covering, products / energy[:, None], 0.0).sum(axis=0) / counts
    acf[counts == 0] = np.nan
    return acf


def autocorrelation_mse(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                        max_lag: Optional[int] = None) -> Dict[str, float]:
    """Mean squared error between real and synthetic autocorrelation curves, per feature.

    Returns
    -------
    dict
        Continuous feature -> MSE over the lags both curves cover.
    """
    out = {}
    for column in schema.continuous_features:
        a = autocorrelation(real, schema, column, max_lag)
        b = autocorrelation(synth, schema, column, max_lag)
        k = min(len(a), len(b))
        both = ~np.isnan(a[:k]) & ~np.isnan(b[:k])
        out[column] = float(np.mean((a[:k][both] - b[:k][both]) ** 2)) if both.any() \
            else float("nan")
    return out


# ----------------------------------------------------- attributes
def _series_frame(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    return df.groupby(schema.id_column, sort=False)[list(schema.attributes)].first()


def attribute_jsd(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                  bins: int = 20) -> Dict[str, float]:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of each attribute's marginal.

    Categorical attributes compare value frequencies; continuous ones compare
    histograms over ``bins`` equal-width bins of the real range.
    """
    if not schema.attributes:
        return {}
    real_s, synth_s = _series_frame(real, schema), _series_frame(synth, schema)
    out = {}
    for column, kind in schema.attributes.items():
        if kind == CATEGORICAL:
            values = category_union(real_s, synth_s, column)
            p = real_s[column].value_counts().reindex(values, fill_value=0).to_numpy(float)
            q = synth_s[column].value_counts().reindex(values, fill_value=0).to_numpy(float)
        else:
            edges = np.histogram_bin_edges(real_s[column].to_numpy(float), bins=bins)
            p = np.histogram(real_s[column].to_numpy(float), edges)[0].astype(float)
            q = np.histogram(np.clip(synth_s[column].to_numpy(float), edges[0], edges[-1]),
                             edges)[0].astype(float)
        out[column] = float(jensenshannon(p / p.sum(), q / q.sum(), base=2) ** 2)
    return out


# ----------------------------------------------------- per-series statistics
def series_statistics(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """One row per series: attributes, ``length`` and, per continuous feature F,
    ``F total`` (sum over records) and ``F midrange`` ((max + min) / 2)."""
    if schema.id_column is None:
        grouped = df.assign(_series=0).groupby("_series")
    else:
        grouped = df.groupby(schema.id_column, sort=False)
    table = grouped[list(schema.attributes)].first() if schema.attributes else \
        pd.DataFrame(index=grouped.size().index)
    table["length"] = grouped.size()
    for column in schema.continuous_features:
        table[f"{column} total"] = grouped[column].sum()
        table[f"{column} midrange"] = (grouped[column].max() + grouped[column].min()) / 2
    return table.reset_index(drop=True)


def statistic_w1(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema, statistic: str,
                 by: Optional[str] = None) -> Dict[str, float]:
    """Wasserstein-1 distance of a per-series statistic, overall or per attribute value.

    Parameters
    ----------
    real, synth : pandas.DataFrame
    schema : Schema
    statistic : str
        A column of :func:`series_statistics`, e.g. ``"length"``,
        ``"traffic_byte_counter total"``.
    by : str, optional
        A categorical attribute: one distance per value seen in both.

    Returns
    -------
    dict
        ``{"all": w1}`` or ``{value: w1, ...}``.
    """
    a, b = series_statistics(real, schema), series_statistics(synth, schema)
    if by is None:
        return {"all": float(wasserstein_distance(a[statistic], b[statistic]))}
    out = {}
    for value, group in a.groupby(by, sort=True):
        other = b.loc[b[by] == value, statistic]
        out[value] = (float(wasserstein_distance(group[statistic], other)) if len(other)
                      else float("nan"))
    return out


def feature_correlations(df: pd.DataFrame, schema: Schema, first: str,
                         second: str) -> np.ndarray:
    """Per-series Pearson correlation between two continuous features (NaN-free)."""
    a, b = padded_values(df, schema, first), padded_values(df, schema, second)
    a_c = a - np.nanmean(a, axis=1, keepdims=True)
    b_c = b - np.nanmean(b, axis=1, keepdims=True)
    num = np.nansum(a_c * b_c, axis=1)
    den = np.sqrt(np.nansum(a_c ** 2, axis=1) * np.nansum(b_c ** 2, axis=1))
    ok = den > 0
    return num[ok] / den[ok]


# ----------------------------------------------------- TSTR
def _design_matrix(encoder: Encoder, df: pd.DataFrame, target: str) -> np.ndarray:
    data = encoder.transform(df)
    return np.concatenate([data.features.reshape(len(data.features), -1),
                           data.lengths[:, None] / encoder.max_len_], axis=1)


def _tstr_models(random_state: int) -> Dict[str, object]:
    """The default classifiers of :func:`tstr`."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier

    return {
        "logistic regression": LogisticRegression(max_iter=2000),
        "random forest": RandomForestClassifier(100, random_state=random_state),
        "k nearest neighbours": KNeighborsClassifier(5),
        "naive Bayes": GaussianNB(),
        "MLP": MLPClassifier((64,), max_iter=500, random_state=random_state),
    }


def tstr(real_train: pd.DataFrame, synth: pd.DataFrame, real_test: pd.DataFrame,
         schema: Schema, target: str, models: Optional[Dict[str, object]] = None,
         random_state: int = 0) -> pd.DataFrame:
    """Train on real / train on synthetic, test on real: predicting an attribute from series.

    Parameters
    ----------
    real_train, synth, real_test : pandas.DataFrame
    schema : Schema
    target : str
        A categorical attribute to predict from the records.
    models : dict of name -> scikit-learn classifier, optional
        Default: logistic regression, random forest, k-nearest neighbours,
        Gaussian naive Bayes and an MLP.
    random_state : int

    Returns
    -------
    pandas.DataFrame
        One row per model: ``real_accuracy`` (train on real) and
        ``synthetic_accuracy`` (train on synthetic); ``attrs["spearman"]`` is
        the rank correlation of the models' accuracies between the two.
    """
    from sklearn.base import clone

    if models is None:
        models = _tstr_models(random_state)
    features_only = Schema(schema.id_column, schema.time_column, {}, dict(schema.features))
    encoder = Encoder(features_only, auto_normalize=False).fit(
        pd.concat([real_train, real_test], ignore_index=True))
    x_real, x_synth, x_test = (_design_matrix(encoder, f, target)
                               for f in (real_train, synth, real_test))
    y_real, y_synth, y_test = (_series_frame(f, schema)[target].to_numpy(object)
                               for f in (real_train, synth, real_test))
    rows = []
    for name, model in models.items():
        scores = {}
        for label, x, y in (("real_accuracy", x_real, y_real),
                            ("synthetic_accuracy", x_synth, y_synth)):
            if len(set(y)) < 2:
                scores[label] = float(np.mean(y_test == y[0]))
                continue
            fitted = clone(model).fit(x, y)
            scores[label] = float(np.mean(fitted.predict(x_test) == y_test))
        rows.append({"model": name, **scores})
    table = pd.DataFrame(rows).set_index("model")
    # Undefined (NaN) when either column is constant, e.g. all models perfect.
    constant = table.nunique().min() < 2
    table.attrs["spearman"] = float("nan") if constant else float(
        spearmanr(table["real_accuracy"], table["synthetic_accuracy"])[0])
    return table


# ----------------------------------------------------- memorisation
def _flat_series(encoder: Encoder, df: pd.DataFrame) -> np.ndarray:
    data = encoder.transform(df)
    return np.concatenate([data.attributes, data.features.reshape(len(data.features), -1)],
                          axis=1).astype(np.float64)


def nearest_distances(queries: np.ndarray, reference: np.ndarray, chunk: int = 512,
                      return_index: bool = False):
    """Euclidean distance from each query row to its nearest reference row, in chunks.

    With ``return_index``, also return the index of that reference row.
    """
    ref_sq = (reference ** 2).sum(1)
    distances, indices = [], []
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        d2 = (q ** 2).sum(1)[:, None] + ref_sq[None, :] - 2 * q @ reference.T
        nearest = d2.argmin(axis=1)
        distances.append(np.sqrt(np.maximum(d2[np.arange(len(q)), nearest], 0)))
        indices.append(nearest)
    distances = np.concatenate(distances)
    return (distances, np.concatenate(indices)) if return_index else distances


def memorization_distances(train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame,
                           schema: Schema) -> Dict[str, np.ndarray]:
    """Nearest-training-series distances of synthetic and of holdout series (App. C).

    Series are compared in a model-free encoding (one-hot attributes,
    globally scaled records, zero padding). A generator that memorises puts
    its synthetic series much closer to training series than unseen real
    (holdout) series are.

    Returns
    -------
    dict
        ``synthetic_to_train`` and ``holdout_to_train`` distance arrays.
    """
    encoder = Encoder(schema, auto_normalize=False).fit(pd.concat([train, holdout],
                                                                  ignore_index=True))
    reference = _flat_series(encoder, train)
    return {"synthetic_to_train": nearest_distances(_flat_series(encoder, synth), reference),
            "holdout_to_train": nearest_distances(_flat_series(encoder, holdout), reference)}


def fidelity_summary(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                     by: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """The headline numbers in one JSON-able dict (used by reports and benchmarks)."""
    summary: Dict[str, object] = {
        "autocorrelation_mse": autocorrelation_mse(real, synth, schema),
        "attribute_jsd": attribute_jsd(real, synth, schema),
        "length_w1": statistic_w1(real, synth, schema, "length")["all"],
    }
    for column in schema.continuous_features:
        summary[f"{column} total w1"] = statistic_w1(real, synth, schema,
                                                     f"{column} total")["all"]
        summary[f"{column} midrange w1"] = statistic_w1(real, synth, schema,
                                                        f"{column} midrange")["all"]
        for attribute in by or []:
            summary[f"{column} total w1 by {attribute}"] = statistic_w1(
                real, synth, schema, f"{column} total", by=attribute)
    return summary


def fidelity_with_floor(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                        by: Optional[Sequence[str]] = None,
                        random_state: Optional[int] = 0) -> Dict[str, Dict[str, object]]:
    """Every headline figure for the synthetic data and for two halves of the real data.

    The synthetic figures compare ``synth`` with all of ``real``; the floor
    compares two random halves of the real series (:func:`split_series`), so
    it shows what sampling noise alone gives. Besides
    :func:`fidelity_summary`, both include the :func:`discriminative_score`
    and the :func:`predictive_score` (trained on ``synth`` or on the first
    half, tested on ``real`` or on the second); the predictive score is NaN
    where no series of a set is longer than its forecast horizon. Where
    SDMetrics is installed, ``"sdmetrics"`` holds :func:`sdmetrics_scores`
    (higher is better there).

    Returns
    -------
    dict
        ``{"synthetic": figures, "real_vs_real": figures}``.
    """
    first, second = split_series(real, schema, random_state=random_state)
    with_sdmetrics = sdmetrics_installed()
    out = {}
    for name, (reference, other) in (("synthetic", (real, synth)),
                                     ("real_vs_real", (first, second))):
        figures = fidelity_summary(reference, other, schema, by=by)
        figures["discriminative_score"] = discriminative_score(reference, other, schema,
                                                               random_state=random_state)
        if schema.continuous_features:
            try:
                figures["predictive_score"] = predictive_score(other, reference, schema,
                                                               random_state=random_state)
            except DataError:  # no series long enough to forecast: no figure, not no report
                figures["predictive_score"] = float("nan")
        if with_sdmetrics:
            figures["sdmetrics"] = sdmetrics_scores(reference, other, schema)
        out[name] = figures
    return out

