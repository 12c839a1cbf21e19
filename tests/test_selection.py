"""Keeping the generator of the best score (``keep_best_every``) and the score itself."""

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, StopAfter, attribute_frame, mixed_frame

import dgkeras.synthesizer
from dgkeras import DataError, DGSynthesizer
from dgkeras.encoding import Encoder
from dgkeras.params import FitFacts, auto_choices, fit_seed, resolve_all
from dgkeras.sampling import Request, Sampler
from dgkeras.selection import (
    DecodedSeries,
    GeneratorScore,
    curve_distance,
    ks_distance,
    selection_distances,
    selection_score,
    total_variation,
)

GENERATORS = ("attribute_generator", "minmax_generator", "feature_generator")


# ------------------------------------------------------------- distances
def test_ks_distance_is_the_largest_gap_between_the_cdfs():
    assert ks_distance(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == 0.5
    assert ks_distance(np.array([1.0, 2]), np.array([2.0, 1])) == 0.0
    assert ks_distance(np.array([1.0, 2]), np.array([5.0, 6, 7])) == 1.0
    # NaN is left out: [1, 2] against [2].
    assert ks_distance(np.array([1.0, 2, np.nan]), np.array([2.0, np.nan])) == 0.5
    assert ks_distance(np.array([np.nan]), np.array([1.0])) == 1.0
    assert ks_distance(np.array([np.nan]), np.array([np.nan])) == 0.0


def test_total_variation_is_half_the_summed_share_differences():
    real = np.array(["a", "a", "b", "b"], dtype=object)
    assert total_variation(real, np.array(["a", "b", "b", "b"], dtype=object)) == 0.25
    assert total_variation(real, np.array(["c"], dtype=object)) == 1.0
    assert total_variation(real, real[::-1]) == 0.0
    # Missing values are left out: the shares are those of a, a, b.
    assert total_variation(np.array(["a", None, "a", "b"], dtype=object),
                           np.array(["a", "a", "b"], dtype=object)) == 0.0


def _decoded(df, schema):
    encoder = Encoder(schema).fit(df)
    data = encoder.transform(df)
    arrays = (data.attributes, data.minmax, data.features)
    return encoder, arrays


def test_the_score_is_zero_for_the_same_series_and_high_for_a_shifted_copy(mba):
    df, schema = mba
    encoder, arrays = _decoded(df, schema)
    n = len(arrays[0])
    halves = np.random.default_rng(0).permutation(n)
    first, second = np.sort(halves[: n // 2]), np.sort(halves[n // 2:])

    def other_half(count, seed):
        return tuple(a[second][:count] for a in arrays)

    score = GeneratorScore(encoder, tuple(a[first] for a in arrays), other_half, seed=0)
    assert score.n_series == n // 2
    assert selection_score(score.real, score.real) == 0.0
    floor = score()  # two halves of the real homes: sampling noise alone
    real = score.real
    shifted = DecodedSeries(real.attributes,
                            {k: v * 3.0 if v.dtype.kind == "f" else v
                             for k, v in real.features.items()}, real.lengths)
    distances = selection_distances(real, shifted)
    # Tripled traffic moves every level statistic of every numeric feature...
    assert distances["traffic_byte_counter mean"] > 0.5
    # ...but neither the attributes nor (up to rounding) the autocorrelation.
    assert distances["isp"] == 0.0
    assert distances["traffic_byte_counter lag-1 autocorrelation"] < 0.01
    assert floor < 0.12
    assert selection_score(real, shifted) > floor + 0.15
    assert set(distances) >= {"isp", "technology", "state"}


def test_lengths_are_compared_even_where_the_real_ones_are_all_the_same():
    df, schema = mixed_frame(n_series=20)
    encoder, arrays = _decoded(df, schema)
    score = GeneratorScore(encoder, arrays, lambda n, seed: arrays, seed=0)
    assert selection_distances(score.real, score.real)["length"] == 0.0
    assert score.real.lengths.min() < score.real.lengths.max()
    shorter = DecodedSeries(score.real.attributes, score.real.features,
                            np.minimum(score.real.lengths, 3))
    assert selection_distances(score.real, shorter)["length"] > 0.5
    # Categorical features are compared by their values' shares.
    assert selection_distances(score.real, score.real)["level"] == 0.0
    df, schema = attribute_frame()
    encoder, arrays = _decoded(df, schema)
    fixed = GeneratorScore(encoder, arrays, lambda n, seed: arrays, seed=0)
    assert (fixed.real.lengths == 6).all()
    # A generator that cuts a quarter of the series short is told apart.
    cut = fixed.real.lengths.copy()
    cut[: len(cut) // 4] = 4
    cut_short = DecodedSeries(fixed.real.attributes, fixed.real.features, cut)
    assert selection_distances(fixed.real, cut_short)["length"] == (len(cut) // 4) / len(cut)


def test_curve_distance_is_the_mean_absolute_gap_over_shared_lags():
    assert curve_distance(np.array([0.5, 0.2, 0.1]), np.array([0.3, 0.2, 0.4])) \
        == pytest.approx((0.2 + 0.0 + 0.3) / 3)
    # Lags one curve does not reach are left out; the gap is capped at 1.
    assert curve_distance(np.array([0.5, 0.2, np.nan]), np.array([0.3, 0.2, 0.4])) \
        == pytest.approx(0.1)
    assert curve_distance(np.array([1.0, 1.0]), np.array([-1.0, -0.5])) == 1.0
    assert curve_distance(np.array([0.5, np.nan]), np.array([np.nan, 0.5])) == 1.0


def _cycles(period: float, n: int = 200, length: int = 48, seed: int = 0) -> DecodedSeries:
    """Series of a sine wave of ``period`` records with a random phase and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    values = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, (n, 1)))
    values += 0.1 * rng.standard_normal((n, length))
    return DecodedSeries(pd.DataFrame({"kind": ["a"] * n}), {"load": values},
                         np.full(n, length))


def test_the_autocorrelation_curve_tells_a_daily_cycle_from_a_half_daily_one():
    daily, other_daily = _cycles(24, seed=0), _cycles(24, seed=1)
    half_daily = _cycles(12, seed=1)
    same = selection_distances(daily, other_daily)
    different = selection_distances(daily, half_daily)
    assert same["load autocorrelation curve"] < 0.05
    assert different["load autocorrelation curve"] > 0.4
    # Constant series have no autocorrelation: their curve is not compared.
    flat = DecodedSeries(daily.attributes, {"load": np.ones((200, 48))}, daily.lengths)
    assert "load autocorrelation curve" not in selection_distances(flat, daily)


def test_best_weights_copy_only_a_lower_finite_score():
    import tensorflow as tf

    from dgkeras.training import BestWeights

    weights = [tf.Variable([1.0, 2.0])]
    best = BestWeights(weights)
    best.apply()  # nothing kept yet: the weights stay
    np.testing.assert_array_equal(weights[0].numpy(), [1.0, 2.0])
    assert best.best_epoch is None
    assert best.consider(0.5, epoch=3)
    weights[0].assign([7.0, 8.0])
    for score in (0.5, 0.9, float("nan"), float("inf")):
        assert not best.consider(score, epoch=4)
    assert best.best_epoch == 3 and float(best.score.numpy()) == 0.5
    best.apply()
    np.testing.assert_array_equal(weights[0].numpy(), [1.0, 2.0])
    weights[0].assign([5.0, 5.0])
    assert best.consider(0.25, epoch=6) and best.best_epoch == 6
    weights[0].assign([0.0, 0.0])
    best.apply()
    np.testing.assert_array_equal(weights[0].numpy(), [5.0, 5.0])


# ------------------------------------------------------------- the fit
def _settings(**params):
    return {**SMALL, "epochs": 5, "batch_size": 8, "random_state": 0, "steps_per_call": 1,
            **params}


def _fit(**params):
    df, schema = attribute_frame()
    return DGSynthesizer(**_settings(**params)).fit(df, schema)


def _scripted(monkeypatch, scores):
    """Make fits score the generator with ``scores``, in order."""
    calls = iter(scores)
    monkeypatch.setattr(dgkeras.synthesizer, "generator_score",
                        lambda *args: lambda: next(calls))


def _assert_same(want, got, names):
    for name in names:
        for a, b in zip(want[name], got[name]):
            np.testing.assert_allclose(b, a, atol=1e-5)


def test_the_fit_ends_with_the_generator_of_the_best_score(monkeypatch):
    # A fit's batches and noise depend on (seed, epoch) alone, so the weights
    # after epoch e are those of a fit of e epochs.
    after_4, after_5 = _fit(epochs=4).model_.get_weights(), _fit().model_.get_weights()
    _scripted(monkeypatch, [0.5, 0.2, 0.4])  # epochs 2, 4 and the last, 5
    synth = _fit(keep_best_every=2)
    np.testing.assert_array_equal(synth.history_["selection_score"].to_numpy(),
                                  [np.nan, 0.5, np.nan, 0.2, 0.4])
    got = synth.model_.get_weights()
    _assert_same(after_4, got, GENERATORS)
    _assert_same(after_5, got, ("critic", "aux_critic"))  # the critics keep their last
    # The comparison can fail: the generators of epochs 4 and 5 differ.
    assert max(np.abs(a - b).max() for a, b in zip(after_4["feature_generator"],
                                                    after_5["feature_generator"])) > 1e-3


def test_with_weight_averaging_the_average_is_scored_and_kept(monkeypatch):
    averaged_2 = _fit(epochs=2, ema_decay=0.5).model_.get_weights()
    averaged_5 = _fit(ema_decay=0.5).model_.get_weights()
    _scripted(monkeypatch, [0.1, 0.9, 0.9])
    _assert_same(averaged_2, _fit(ema_decay=0.5, keep_best_every=2).model_.get_weights(),
                 GENERATORS)
    # Scoring puts the average in place only for the score: training goes on from the
    # last weights, so a last best score ends as a fit without selection does.
    _scripted(monkeypatch, [0.9, 0.9, 0.1])
    _assert_same(averaged_5, _fit(ema_decay=0.5, keep_best_every=2).model_.get_weights(),
                 list(averaged_5))


def test_the_kept_generator_has_the_lowest_score_of_the_history():
    df, schema = attribute_frame()
    synth = DGSynthesizer(**_settings(epochs=6, keep_best_every=2)).fit(df, schema)
    scores = synth.history_["selection_score"]
    assert scores.notna().tolist() == [False, True, False, True, False, True]
    assert ((scores.dropna() > 0) & (scores.dropna() <= 1)).all()
    # Score the fitted model as the fit did: the same series, the same noise.
    data = synth.encoder_.transform(df)
    sampler = Sampler(synth.encoder_, synth.model_)
    again = GeneratorScore(synth.encoder_, (data.attributes, data.minmax, data.features),
                           lambda n, seed: sampler.generate(Request(n, None, None, None, seed)),
                           seed=fit_seed(0))
    assert again() == pytest.approx(scores.min(), abs=1e-9)


def test_progress_shows_the_scores_and_the_kept_epoch(capsys):
    df, schema = attribute_frame()
    synth = DGSynthesizer(**_settings(epochs=4, keep_best_every=2, verbose=2)).fit(df, schema)
    lines = capsys.readouterr().err.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert ["selection_score" in line for line in epochs] == [False, True, False, True]
    scores = synth.history_["selection_score"]
    assert f"selection_score {scores.iloc[1]:.4f}" in epochs[1]
    assert lines[-1] == (f"kept the generator of epoch {scores.idxmin() + 1}/4 "
                         f"(selection score {scores.min():.4f})")


def test_a_resumed_fit_keeps_the_best_generator_of_the_whole_fit(tmp_path):
    df, schema = attribute_frame()
    settings = _settings(epochs=6, keep_best_every=2)
    full = DGSynthesizer(**settings).fit(df, schema)
    stopped = DGSynthesizer(checkpoint_dir=str(tmp_path), checkpoint_every=1,
                            callbacks=[StopAfter(2)], **settings).fit(df, schema)
    assert len(stopped.history_) == 3
    resumed = DGSynthesizer(checkpoint_dir=str(tmp_path), checkpoint_every=1,
                            **settings).fit(df, schema, resume=True)
    pd.testing.assert_series_equal(resumed.history_["selection_score"],
                                   full.history_["selection_score"], atol=1e-6)
    _assert_same(full.model_.get_weights(), resumed.model_.get_weights(),
                 list(full.model_.get_weights()))


def test_by_default_every_10_epochs_and_none_turns_it_off():
    synth = _fit(epochs=12)
    assert synth.get_params()["keep_best_every"] == "auto"
    assert synth.resolved_params_["keep_best_every"] == 10
    scored = synth.history_["selection_score"].notna()
    assert scored[scored].index.tolist() == [9, 11]  # epochs 10 and 12
    off = _fit(epochs=1, keep_best_every=None)
    assert "selection_score" not in off.history_.columns


# ------------------------------------------------------------- DP and "auto"
def test_selection_is_refused_under_dp_and_auto_turns_it_off():
    df, schema = attribute_frame()
    with pytest.raises(DataError, match=r"keep_best_every=5 cannot be combined with "
                                        r"differential privacy .*outside the privacy "
                                        r"accounting; use keep_best_every=None"):
        DGSynthesizer(**_settings(keep_best_every=5, noise_multiplier=1.0)).fit(df, schema)
    params = {**DGSynthesizer().get_params(), "keep_best_every": "auto"}
    choices = {}
    for private in (False, True):
        facts = FitFacts(private=private)
        resolved = resolve_all(params, facts)
        choices[private] = auto_choices(params, resolved, facts)["keep_best_every"]
    assert choices[False].startswith("10 (10: the generator is scored against training "
                                     "series every 10 epochs")
    assert choices[True].startswith("None (None: under differential privacy the score "
                                    "would read the training series")
    private = DGSynthesizer(**_settings(keep_best_every="auto", noise_multiplier=1.0,
                                        epochs=1, batch_size=5)).fit(df, schema)
    assert private.resolved_params_["keep_best_every"] is None
    assert "selection_score" not in private.history_.columns


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "best"])
def test_keep_best_every_takes_a_positive_integer_auto_or_none(value):
    df, schema = attribute_frame()
    with pytest.raises(DataError, match=r"keep_best_every must be a positive integer or "
                                        r"'auto' or None, got"):
        DGSynthesizer(keep_best_every=value).fit(df, schema)


def test_models_saved_before_the_parameter_kept_their_last_generator(tmp_path):
    from dgkeras.persistence import read_model_file, write_model_file

    synth = _fit(epochs=1)
    synth.save(tmp_path / "new.dgk")
    meta, weights = read_model_file(tmp_path / "new.dgk")
    for key in ("params", "resolved_params_"):
        del meta[key]["keep_best_every"]
    write_model_file(tmp_path / "old.dgk", meta, weights)
    state = synth.__getstate__()
    del state["keep_best_every"]
    del state["_fitted_meta"]["resolved_params_"]["keep_best_every"]
    old_pickle = DGSynthesizer.__new__(DGSynthesizer)
    old_pickle.__setstate__(state)
    for old in (DGSynthesizer.load(tmp_path / "old.dgk"), old_pickle):
        assert old.get_params()["keep_best_every"] is None
        assert set(old.resolved_params_) == set(synth.resolved_params_)
        assert old.resolved_params_["keep_best_every"] is None
        pd.testing.assert_frame_equal(old.sample(5, random_state=0),
                                      synth.sample(5, random_state=0))
