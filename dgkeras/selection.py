"""Which generator a fit keeps: a cheap score of generated series against real ones.

A GAN's generator does not settle as training goes on; the quality of its
output wanders from epoch to epoch, so the weights of the last epoch are one
draw from that path. With ``keep_best_every=k`` the fit scores the generator
every k epochs (and after the last) and ends with the weights that scored
best. :class:`GeneratorScore` is that score: it generates a fixed number of
series from fixed noise, decodes them as :meth:`DGSynthesizer.sample_arrays`
would, and compares them with a fixed random set of the training series
(:func:`selection_distances`).

The comparison is built from what tells real from synthetic series in
:func:`dgkeras.model_scores.discriminative_score`, without fitting a
classifier: the distribution over series of each per-series summary
statistic of each continuous feature (mean, spread, extremes, first and last
record, quantiles, lag-1 autocorrelation, mean absolute change), of each
attribute, of the series lengths (even where the real ones are all the
same: a generator that ends series early must score worse) and of each
categorical feature's values; and, for the correlations over longer lags
that the summaries miss (daily and weekly cycles), each continuous feature's
autocorrelation curve averaged over series
(:func:`dgkeras.metrics.autocorrelation_curve`). Each is a
distance in [0, 1] (Kolmogorov-Smirnov for numbers, total variation for
categories, the mean absolute difference over lags for the curves) and the
score is their mean, so no column's units weigh more than another's.

NumPy and pandas only; no TensorFlow here. The generator is reached through
the ``generate`` callable the fit passes in.
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Tuple

import numpy as np
import pandas as pd

from .encoding import Encoder
from .metrics import autocorrelation_curve
from .model_scores import continuous_summary, ks_distance, total_variation
from .schema import CONTINUOUS, infer_kind

#: Series generated, and training series compared with, at each scoring. With
#: fixed noise the score's changes from one scoring to the next come from the
#: generator; 1,000 series keep a scoring of the MBA data at a fraction of a
#: second.
SCORE_SERIES = 1000
#: Seed offset of the scoring noise, so that it differs from the training noise.
_SCORE_STREAM = 11


class DecodedSeries(NamedTuple):
    """Series as one attribute row and one padded array row each.

    Attributes
    ----------
    attributes : pandas.DataFrame
        One row per series.
    features : dict of str to ndarray, shape (n, T)
        Continuous features as floats with NaN after each series' end,
        categorical ones as object arrays with None after it.
    lengths : ndarray of int, shape (n,)
    """

    attributes: pd.DataFrame
    features: Dict[str, np.ndarray]
    lengths: np.ndarray


def _is_continuous(values: np.ndarray) -> bool:
    return infer_kind(pd.Series(values.ravel())) == CONTINUOUS


def curve_distance(real: np.ndarray, synth: np.ndarray) -> float:
    """Mean absolute difference of two autocorrelation curves over the lags both
    cover, capped at 1; 1 when they share no lag."""
    both = ~np.isnan(real) & ~np.isnan(synth)
    if not both.any():
        return 1.0
    return float(min(1.0, np.abs(real[both] - synth[both]).mean()))


#: How the name of a feature's autocorrelation curve ends in the score's distances.
CURVE_SUFFIX = " autocorrelation curve"


class SeriesProfile(NamedTuple):
    """What the score compares of a set of series (:func:`series_profile`).

    Attributes
    ----------
    distributions : dict of str to ndarray
        Each attribute's values, each per-series summary statistic of each
        continuous feature (``"<feature> <statistic>"``, as
        :func:`dgkeras.model_scores.series_summaries` names them), each
        categorical feature's values over all records, and ``"length"``.
    curves : dict of str to ndarray
        ``"<feature> autocorrelation curve"``: each continuous feature's
        autocorrelation at lags 1 and up, averaged over series.
    """

    distributions: Dict[str, np.ndarray]
    curves: Dict[str, np.ndarray]


def series_profile(series: DecodedSeries) -> SeriesProfile:
    """The distributions over series and the autocorrelation curves the score compares."""
    distributions: Dict[str, np.ndarray] = {}
    curves: Dict[str, np.ndarray] = {}
    for column in series.attributes.columns:
        distributions[column] = series.attributes[column].to_numpy()
    for name, values in series.features.items():
        if _is_continuous(values):
            values = values.astype(float)
            with np.errstate(all="ignore"):  # the NaN past each series' end is expected
                distributions.update(continuous_summary(values, name))
            curves[name + CURVE_SUFFIX] = autocorrelation_curve(values)[1:]
        else:
            distributions[name] = values.ravel()
    distributions["length"] = series.lengths
    return SeriesProfile(distributions, curves)


def profile_distances(real: SeriesProfile, synth: SeriesProfile) -> Dict[str, float]:
    """The distance of each part of ``synth``'s :func:`series_profile` from ``real``'s:
    Kolmogorov-Smirnov for numbers, total variation for categories,
    :func:`curve_distance` for the autocorrelation curves (but for a feature
    whose real series are all constant, which have no autocorrelation)."""
    out: Dict[str, float] = {}
    for name, values in real.distributions.items():
        out[name] = (ks_distance(values.astype(float), synth.distributions[name].astype(float))
                     if _is_continuous(values)
                     else total_variation(values, synth.distributions[name]))
    for name, curve in real.curves.items():
        if not np.isnan(curve).all():
            out[name] = curve_distance(curve, synth.curves[name])
    return out


def selection_distances(real: DecodedSeries, synth: DecodedSeries) -> Dict[str, float]:
    """The distance of ``synth`` from ``real`` in each distribution the score compares.

    Parameters
    ----------
    real, synth : DecodedSeries
        The same columns in both.

    Returns
    -------
    dict of str to float
        By the names of :class:`SeriesProfile`'s distributions and curves;
        each in [0, 1], 0 for identical distributions.
    """
    return profile_distances(series_profile(real), series_profile(synth))


def selection_score(real: DecodedSeries, synth: DecodedSeries) -> float:
    """The mean of :func:`selection_distances`: 0 for identical distributions, at most 1."""
    return _mean(selection_distances(real, synth))


def _mean(distances: Dict[str, float]) -> float:
    return float(np.mean(list(distances.values())))


class GeneratorScore:
    """The score of the generator as it is now, against a fixed set of training series.

    Parameters
    ----------
    encoder : Encoder
        The fit's encoder, for decoding.
    arrays : tuple of ndarray
        The encoded training series: attributes, min/max and records, as
        the networks take them.
    generate : callable
        ``generate(n, seed)`` returns the generator's raw outputs
        (attributes, min/max, records) for ``n`` series drawn from the noise
        of ``seed``.
    seed : int
        The fit's seed: it picks the training series compared with and the
        noise, the same at every scoring.
    n_series : int
        Series generated and compared with (at most the training series).
    """

    def __init__(self, encoder: Encoder, arrays: Tuple[np.ndarray, np.ndarray, np.ndarray],
                 generate: Callable[[int, int], tuple], seed: int,
                 n_series: int = SCORE_SERIES) -> None:
        self.encoder = encoder
        self.generate = generate
        total = len(arrays[0])
        self.n_series = min(n_series, total)
        rng = np.random.default_rng([seed, _SCORE_STREAM])
        rows = np.sort(rng.choice(total, self.n_series, replace=False))
        self.noise_seed = int(rng.integers(0, 2**31 - 1))
        self.real = self.decode(tuple(a[rows] for a in arrays))
        # The training series' side of every comparison, computed once.
        self._real_profile = series_profile(self.real)

    def decode(self, arrays: tuple) -> DecodedSeries:
        """Encoded series (real or generated) as :class:`DecodedSeries`."""
        attributes, minmax, records = arrays
        lengths = self.encoder.generated_lengths(records)
        table, features = self.encoder.inverse_transform_arrays(attributes, minmax, records,
                                                                 lengths)
        return DecodedSeries(table, features, lengths)

    def distances(self) -> Dict[str, float]:
        """The generator's :func:`selection_distances` now, from the fixed noise."""
        generated = self.decode(self.generate(self.n_series, self.noise_seed))
        return profile_distances(self._real_profile, series_profile(generated))

    def __call__(self) -> float:
        """The generator's :func:`selection_score` now (the mean of
        :meth:`distances`); lower is better."""
        return _mean(self.distances())
