"""Sampling with some attributes given, and retraining the attribute generator alone."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, attribute_frame

from dgkeras import DataError, DGSynthesizer


@pytest.fixture(scope="module")
def trained():
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=30, batch_size=8, random_state=0, **SMALL).fit(df, schema)
    return synth, df


def _per_series(frame):
    return frame.groupby("id", sort=False)[["region", "premium", "size"]].first()


def test_partial_attributes_keep_the_given_values_and_follow_the_model(trained):
    synth, _ = trained
    given = pd.DataFrame({"region": ["n"] * 300 + ["e"] * 100})
    out = _per_series(synth.sample(attributes=given, random_state=0))
    assert out["region"].tolist() == given["region"].tolist()
    # The other attributes follow the model's own conditional distribution: compare
    # with an unconditional sample filtered to the same region.
    free = _per_series(synth.sample(6000, random_state=1))
    for region in ("n", "e"):
        conditional = out.loc[out["region"] == region, "premium"].mean()
        filtered = free.loc[free["region"] == region, "premium"].mean()
        assert abs(conditional - filtered) < 0.1, (region, conditional, filtered)
        assert abs(out.loc[out["region"] == region, "size"].mean()
                   - free.loc[free["region"] == region, "size"].mean()) < 3.0


def test_partial_continuous_attribute_is_matched_and_kept(trained):
    synth, df = trained
    given = pd.DataFrame({"region": ["e", "e", "n"], "size": [0, 30, 60]})
    out = _per_series(synth.sample(attributes=given, random_state=3))
    assert out["size"].tolist() == [0, 30, 60] and out["region"].tolist() == ["e", "e", "n"]
    assert out.dtypes.to_dict() == df[["region", "premium", "size"]].dtypes.to_dict()
    again = _per_series(synth.sample(attributes=given, random_state=3))
    pd.testing.assert_frame_equal(out.reset_index(drop=True), again.reset_index(drop=True))


def test_partial_attributes_refuse_unknown_and_impossible_values(trained, monkeypatch):
    synth, _ = trained
    with pytest.raises(DataError, match="'region' \\(given attributes\\) has value 'w'"):
        synth.sample(attributes=pd.DataFrame({"region": ["w"]}))
    with pytest.raises(DataError, match="'size' \\(given attributes\\) has value 99 outside"):
        synth.sample(attributes=pd.DataFrame({"size": [99]}))
    with pytest.raises(DataError, match="none of the attribute columns"):
        synth.sample(attributes=pd.DataFrame({"colour": ["red"]}))
    # A model whose attribute generator only ever says "n" cannot complete region "s".
    import dgkeras.conditional

    monkeypatch.setattr(dgkeras.conditional, "MAX_CANDIDATES", 40_000)
    real_generate = synth.model_.sample_attribute_arrays

    def only_north(noise):
        out = real_generate(noise)
        block = synth.encoder_.attribute_slices()["region"]
        out[:, block] = np.eye(3)[synth.encoder_.attribute_columns_[0].categories.index("n")]
        return out

    monkeypatch.setattr(synth.model_, "sample_attribute_arrays", only_north)
    with pytest.raises(DataError, match=r"generated no series with attributes \{'region': 's'\} "
                                        r"in 40000 tries"):
        synth.sample(attributes=pd.DataFrame({"region": ["s"]}),
                     random_state=0)


def test_refit_attributes_moves_the_marginal_and_keeps_the_series_model():
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=30, batch_size=8, random_state=0, **SMALL).fit(df, schema)
    per_series = _per_series(df)
    fixed = per_series.iloc[:40 % len(per_series)].reset_index(drop=True)
    before_series = synth.sample(attributes=fixed.iloc[:10], random_state=5)
    before_share = (_per_series(synth.sample(3000, random_state=2))["region"] == "e").mean()
    new = per_series[per_series["region"] == "e"].sample(200, replace=True, random_state=0)
    synth.refit_attributes(new, epochs=60, random_state=0)
    after_share = (_per_series(synth.sample(3000, random_state=2))["region"] == "e").mean()
    assert before_share < 0.6 and after_share > 0.9, (before_share, after_share)
    assert len(synth.attribute_history_) == 60
    # P(series | attributes) is untouched: the same attributes give the same series.
    after_series = synth.sample(attributes=fixed.iloc[:10], random_state=5)
    pd.testing.assert_frame_equal(before_series, after_series)


def test_refit_attributes_is_reproducible_from_its_seed(trained):
    synth, df = trained
    rows = df.groupby("id")[["region", "premium", "size"]].first()

    def refit(seed):
        copy = pickle.loads(pickle.dumps(synth))
        history = copy.refit_attributes(rows, epochs=2, random_state=seed).attribute_history_
        return history[["critic_loss", "generator_loss"]].to_numpy(), copy.sample(
            20, random_state=1)

    (losses, sample), (again, same) = refit(3), refit(3)
    np.testing.assert_array_equal(again, losses)
    pd.testing.assert_frame_equal(same, sample)
    assert not np.array_equal(refit(4)[0], losses)


def test_refit_attributes_uses_the_critic_steps_without_dp(trained):
    synth, df = trained
    rows = df.groupby("id")[["region", "premium", "size"]].first()

    def refit_losses(**params):
        copy = pickle.loads(pickle.dumps(synth)).set_params(**params)
        history = copy.refit_attributes(rows, epochs=3, random_state=0).attribute_history_
        return history[["critic_loss", "generator_loss"]].to_numpy()

    one = refit_losses(critic_steps=1)
    np.testing.assert_allclose(refit_losses(critic_steps=1), one, rtol=1e-6)
    five = refit_losses(critic_steps=5)
    assert not np.allclose(five, one, rtol=1e-3)
    np.testing.assert_allclose(refit_losses(critic_steps="auto"), five, rtol=1e-5)
    # The refit rows are used without DP, so "auto" means five updates even
    # for an estimator that trains with DP.
    np.testing.assert_allclose(refit_losses(critic_steps="auto", epsilon=1.0), five, rtol=1e-5)


def test_refit_attributes_refuses_bad_input(trained):
    synth, df = trained
    with pytest.raises(DataError, match=r"lacks attribute columns \['size'\]"):
        synth.refit_attributes(df[["region", "premium"]])
    with pytest.raises(DataError, match="has value 'w', which is not one of the"):
        synth.refit_attributes(df.assign(region="w"))
