"""SDMetrics' sequential metrics, for comparing with what SDV users read.

`SDMetrics <https://docs.sdv.dev/sdmetrics>`_ (MIT) scores sequential data
with Kolmogorov-Smirnov complements (1 - the KS statistic: 1 when two
distributions are the same, 0 when they do not overlap; higher is better,
unlike the figures of :mod:`dgkeras.metrics`):

* ``SequenceLengthSimilarity``: the distribution of series lengths;
* ``StatisticMSAS``: the distribution over series of a per-series statistic
  (mean, standard deviation, ...) of a continuous feature;
* ``InterRowMSAS``: the distribution of the changes between consecutive
  records of a continuous feature, over all series (since SDMetrics 0.24;
  before, of each series' mean change).

SDMetrics is an optional extra (``pip install "dgkeras[sdmetrics]"``), not a
dependency: its releases require pandas < 3.
"""

from __future__ import annotations

import warnings
from typing import Dict, Sequence, Tuple

import pandas as pd

from .schema import Schema
from .series_arrays import sorted_records

#: The per-series statistics compared with StatisticMSAS, of its five.
STATISTICS: Tuple[str, ...] = ("mean", "std", "min", "max")
INSTALL_HINT = ('sdmetrics_scores needs the optional package sdmetrics: pip install '
                '"dgkeras[sdmetrics]" (SDMetrics requires pandas < 3)')


def sdmetrics_installed() -> bool:
    """Whether SDMetrics imports, so that :func:`sdmetrics_scores` can run."""
    try:
        _sdmetrics()
    except ImportError:
        return False
    return True


def _sdmetrics():
    try:
        from sdmetrics.column_pairs import InterRowMSAS, StatisticMSAS
        from sdmetrics.single_column import SequenceLengthSimilarity
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return SequenceLengthSimilarity, StatisticMSAS, InterRowMSAS


def _keys_and_records(df: pd.DataFrame, schema: Schema) -> Tuple[pd.Series, pd.DataFrame]:
    df = sorted_records(df, schema).reset_index(drop=True)
    if schema.id_column is None:  # one series
        return pd.Series(0, index=df.index), df
    return df[schema.id_column], df


def sdmetrics_scores(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema,
                     statistics: Sequence[str] = STATISTICS) -> Dict[str, float]:
    """SDMetrics' sequential scores of ``synth`` against ``real`` (1 = the same).

    Parameters
    ----------
    real, synth : pandas.DataFrame
        Long DataFrames of ``schema``.
    schema : Schema
    statistics : sequence of str
        The per-series statistics of each continuous feature compared with
        ``StatisticMSAS`` (of "mean", "median", "std", "min", "max").

    Returns
    -------
    dict
        ``"sequence_length_similarity"``, and per continuous feature
        ``"<column> statistic_msas <statistic>"`` and
        ``"<column> inter_row_msas"``, each in [0, 1].

    Raises
    ------
    ImportError
        Where SDMetrics is not installed, with the command that installs it.
    """
    length_similarity, statistic_msas, inter_row_msas = _sdmetrics()
    real_keys, real = _keys_and_records(real, schema)
    synth_keys, synth = _keys_and_records(synth, schema)
    scores = {"sequence_length_similarity": float(
        length_similarity.compute(real_keys, synth_keys))}
    for column in schema.continuous_features:
        pair = (real_keys, real[column].astype(float)), (synth_keys, synth[column].astype(float))
        for statistic in statistics:
            scores[f"{column} statistic_msas {statistic}"] = float(
                statistic_msas.compute(*pair, statistic=statistic))
        with warnings.catch_warnings():
            # A one-record series has no change between records: it adds none.
            warnings.filterwarnings("ignore", message=".*n_rows_diff.*")
            scores[f"{column} inter_row_msas"] = float(inter_row_msas.compute(*pair))
    return scores
