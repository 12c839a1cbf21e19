"""DGSynthesizer: fit/sample contract, shapes, lengths, values, conditioning, conventions."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame, mixed_frame
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from dgkeras import DataError, DGSynthesizer
from dgkeras.outputs import lengths_from_flags


def _check_output_contract(out, df, schema, n, max_len):
    assert list(out.columns) == [c for c in df.columns if c in schema.columns]
    assert out.dtypes.to_dict() == df[out.columns].dtypes.to_dict()
    assert out[schema.id_column].nunique() == n
    assert not set(out[schema.id_column]) & set(df[schema.id_column])
    lengths = out.groupby(schema.id_column, sort=False).size()
    assert lengths.between(1, max_len).all()
    for column, kind in {**schema.attributes, **schema.features}.items():
        if kind == "categorical":
            assert set(out[column].unique()) <= set(df[column].unique()), column
        else:
            assert out[column].between(df[column].min(), df[column].max()).all(), column
    if schema.attributes:
        assert (out.groupby(schema.id_column)[list(schema.attributes)].nunique() == 1).all().all()


@pytest.mark.parametrize("n", [1, 7, 100, 101])
def test_sample_shapes_and_contract(fitted_attributes, n):
    synth, df, schema = fitted_attributes
    out = synth.sample(n, random_state=n)
    _check_output_contract(out, df, schema, n, max_len=6)
    assert out["t"].isin(range(6)).all()


def test_variable_length_outputs(fitted_mixed):
    synth, df, schema = fitted_mixed
    out = synth.sample(60, random_state=0)
    _check_output_contract(out, df, schema, 60, max_len=9)
    assert synth.max_sequence_len_ == 9
    # Time values are the training grid, in order, within each series.
    positions = out.groupby("sid", sort=False).cumcount()
    assert (out["t"] == positions).all()


def test_fixed_length_training_series_give_fixed_length_samples(fitted_attributes):
    synth, df, schema = fitted_attributes  # 30 series of 6 records, 2 epochs
    # Its generation flags alone would end series early: the one training length rules.
    rng = np.random.default_rng(0)
    noise = [tf.constant(rng.standard_normal(shape, dtype=np.float32))
             for shape in synth.model_.config.noise_shapes(200)]
    records = synth.model_.generate(*noise, mask=False)[2].numpy()
    assert (lengths_from_flags(records, 6) < 6).any()
    out = synth.sample(200, random_state=0)
    assert out.groupby(schema.id_column).size().eq(6).all()
    _, _, lengths, _ = synth.sample_arrays(200, random_state=0)
    assert (np.asarray(lengths) == 6).all()


def test_length_forces_every_series(fitted_mixed):
    synth, _, _ = fitted_mixed
    out = synth.sample(5, length=9, random_state=0)
    assert out.groupby("sid").size().tolist() == [9] * 5
    assert synth.sample(4, length=1, random_state=0).groupby("sid").size().tolist() == [1] * 4
    for bad in (0, 10, 2.5):
        with pytest.raises(DataError, match=r"length must be an integer in \[1, "):
            synth.sample(3, length=bad)


def test_same_seed_same_output_other_seed_differs(fitted_attributes):
    synth, _, _ = fitted_attributes
    a = synth.sample(50, random_state=7)
    pd.testing.assert_frame_equal(a, synth.sample(50, random_state=7))
    assert not a["usage"].equals(synth.sample(50, random_state=8)["usage"])


def test_sample_with_given_attributes(fitted_attributes):
    synth, df, _ = fitted_attributes
    given = pd.DataFrame({"region": ["s", "n", "s"], "premium": [True, False, True],
                          "size": [0, 60, 30]})
    out = synth.sample(attributes=given, random_state=0)
    per_series = out.groupby("id", sort=False)[["region", "premium", "size"]].first()
    pd.testing.assert_frame_equal(per_series.reset_index(drop=True), given,
                                  check_dtype=False)
    assert out.dtypes.to_dict() == df[out.columns].dtypes.to_dict()


@pytest.mark.parametrize("given, message", [
    (pd.DataFrame({"region": ["x"], "premium": [True], "size": [0]}),
     r"column 'region' \(given attributes\) has value 'x', which is not one of the 3"),
    (pd.DataFrame({"region": ["n"], "premium": [True], "size": [1000]}),
     r"column 'size' \(given attributes\) has value 1000 outside the training range"),
    (pd.DataFrame({"regio": ["n"]}),
     r"attributes frame has none of the attribute columns \['region', 'premium', 'size'\]"),
])
def test_bad_given_attributes(fitted_attributes, given, message):
    synth, _, _ = fitted_attributes
    with pytest.raises(DataError, match=message):
        synth.sample(attributes=given)


def test_attributes_cannot_be_given_without_attribute_columns(fitted_mixed):
    synth, _, _ = fitted_mixed
    with pytest.raises(DataError, match="fitted without attribute columns"):
        synth.sample(attributes=pd.DataFrame({"x": [1]}))


def test_fitted_state_and_history(fitted_attributes):
    synth, _, schema = fitted_attributes
    assert synth.schema_ == schema and synth.epsilon_ is None and synth.n_series_ == 30
    assert list(synth.history_.columns) == ["critic_loss", "aux_critic_loss",
                                            "generator_loss", "seconds", "selection_score"]
    assert len(synth.history_) == 2 and np.isfinite(synth.history_.to_numpy()[1]).all()
    assert np.isfinite(synth.history_.to_numpy()[0, :4]).all()
    assert np.isnan(synth.history_["selection_score"].iloc[0])  # scored after the last only


@pytest.mark.parametrize("n_series, batch_size", [(3, 100), (11, 5)])
def test_batch_larger_than_data_and_remainder_of_one(n_series, batch_size):
    df, schema = attribute_frame(n_series=n_series, length=4)
    synth = DGSynthesizer(epochs=2, batch_size=batch_size, random_state=0, **SMALL)
    out = synth.fit(df, schema).sample(4, random_state=0)
    assert out["id"].nunique() == 4 and len(synth.history_) == 2


def test_schema_as_dict_and_df_not_modified():
    df, schema = mixed_frame(n_series=6)
    before = df.copy()
    synth = DGSynthesizer(epochs=1, random_state=0, **SMALL).fit(df, schema.to_dict())
    pd.testing.assert_frame_equal(df, before)
    assert synth.schema_ == schema


def test_extra_columns_are_reported():
    df, schema = mixed_frame(n_series=6)
    with pytest.warns(UserWarning, match=r"columns \['note'\] are not in the schema"):
        DGSynthesizer(epochs=1, random_state=0, **SMALL).fit(df.assign(note="x"), schema)


def test_sklearn_conventions():
    synth = DGSynthesizer(epochs=3, lstm_units=8, random_state=4)
    params = synth.get_params()
    assert params["epochs"] == 3 and params["lstm_units"] == 8 and params["epsilon"] is None
    copy = clone(synth)
    assert copy.get_params() == params and copy is not synth
    assert synth.set_params(epochs=5).epochs == 5
    with pytest.raises(NotFittedError):
        DGSynthesizer().sample(3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(critic_steps=0), "critic_steps must be a positive integer or 'auto', got 0"),
    (dict(critic_steps="many"), "critic_steps must be a positive integer or 'auto', got 'many'"),
    (dict(critic_units=()), "critic_units must be a non-empty sequence"),
    (dict(beta_1=1.0), r"beta_1 must lie in \[0, 1\)"),
    (dict(normalization="unit"), "normalization must be one of"),
    (dict(minmax_scale="log2"),
     r"minmax_scale must be one of \['unit', 'log', 'log_min', 'quantile', 'auto'\], "
     r"got 'log2'"),
    (dict(packing=0), "packing must be a positive integer, got 0"),
    (dict(packing=2, epsilon=1.0), "packing=2 cannot be combined with differential privacy"),
    (dict(ema_decay=1.0), r"ema_decay must be None or lie in \[0, 1\), got 1.0"),
    (dict(ema_decay=-0.1), r"ema_decay must be None or lie in \[0, 1\), got -0.1"),
    (dict(ema_decay="0.9"), r"ema_decay must be None or lie in \[0, 1\), got '0.9'"),
    (dict(marginal_weight=-1.0),
     "marginal_weight must be a non-negative number or 'auto', got -1.0"),
    (dict(marginal_weight=float("nan")),
     "marginal_weight must be a non-negative number or 'auto', got nan"),
    (dict(gp_weight="10"), "gp_weight must be a non-negative number, got '10'"),
])
def test_bad_hyperparameters(kwargs, message):
    df, schema = mixed_frame(n_series=4)
    with pytest.raises(ValueError, match=message):
        DGSynthesizer(**kwargs).fit(df, schema)


def test_several_critic_and_generator_steps():
    df, schema = attribute_frame(n_series=10, length=4)
    synth = DGSynthesizer(epochs=2, batch_size=5, critic_steps=2, generator_steps=2,
                          random_state=0, **SMALL).fit(df, schema)
    assert np.isfinite(synth.history_.drop(columns="selection_score").to_numpy()).all()
    assert synth.sample(3, random_state=0)["id"].nunique() == 3


def test_bad_n(fitted_attributes):
    synth, _, _ = fitted_attributes
    for bad in (0, -1, 2.0, None):
        with pytest.raises(DataError, match="n"):
            synth.sample(bad)


def test_log_columns_fit_sample_and_survive_save(tmp_path):
    """A feature spanning five orders of magnitude, modelled on a log scale."""
    rng = np.random.default_rng(0)
    levels = 10.0 ** rng.uniform(-1, 4, size=40)
    df = pd.DataFrame({"id": np.repeat(np.arange(40), 6), "t": np.tile(np.arange(6), 40),
                       "site": np.repeat(rng.choice(["a", "b"], 40), 6),
                       "mbps": np.repeat(levels, 6) * (1 + 0.1 * rng.random(240))})
    schema = {"id_column": "id", "time_column": "t", "attributes": {"site": "categorical"},
              "features": {"mbps": "continuous"}}
    synth = DGSynthesizer(epochs=2, batch_size=20, random_state=0,
                          log_columns=["mbps"], **SMALL).fit(df, schema)
    assert [c.log for c in synth.encoder_.feature_columns_] == [True]
    fake = synth.sample(50, random_state=3)
    assert fake["mbps"].between(df["mbps"].min(), df["mbps"].max()).all()
    synth.save(tmp_path / "model.dgk")
    again = DGSynthesizer.load(tmp_path / "model.dgk")
    assert again.get_params()["log_columns"] == ["mbps"]
    pd.testing.assert_frame_equal(again.sample(50, random_state=3), fake)


@pytest.mark.parametrize("kind", ["log", "log_min", "quantile"])
def test_minmax_log_scale_fits_samples_within_range_and_survives_save(tmp_path, kind):
    """Series levels spread over three orders of magnitude, with a log-scaled min/max."""
    rng = np.random.default_rng(1)
    levels = 10.0 ** rng.uniform(0, 3, size=40)
    df = pd.DataFrame({"id": np.repeat(np.arange(40), 6), "t": np.tile(np.arange(6), 40),
                       "mbps": np.repeat(levels, 6) * (1 + 0.1 * rng.random(240))})
    schema = {"id_column": "id", "time_column": "t", "attributes": {},
              "features": {"mbps": "continuous"}}
    synth = DGSynthesizer(epochs=2, batch_size=20, random_state=0, minmax_scale=kind,
                          **SMALL).fit(df, schema)
    scale = synth.encoder_.minmax_scales_[0]
    assert scale.kind == kind
    # Levels (midranges or minima) in the unit scale of the column, from the
    # smallest to the largest series.
    bounds = df.groupby("id")["mbps"].agg(["min", "max"])
    level = bounds.mean(axis=1) if kind == "log" else bounds["min"]
    unit = (level - df["mbps"].min()) / (df["mbps"].max() - df["mbps"].min())
    part = "mid" if kind == "log" else "min"
    ends = (scale.ranges[part] if kind != "quantile"
            else [scale.quantiles[part][0], scale.quantiles[part][-1]])
    np.testing.assert_allclose(ends, [unit.min(), unit.max()], rtol=1e-9)
    fake = synth.sample(50, random_state=3)
    assert fake["mbps"].between(df["mbps"].min(), df["mbps"].max()).all()
    synth.save(tmp_path / "model.dgk")
    again = DGSynthesizer.load(tmp_path / "model.dgk")
    assert again.get_params()["minmax_scale"] == kind
    pd.testing.assert_frame_equal(again.sample(50, random_state=3), fake)


def test_auto_critic_steps_are_five_without_dp_and_one_with_it():
    from dgkeras.params import FitFacts, resolve, trains_privately

    def critic_steps(**params):
        params = DGSynthesizer(**params).get_params()
        return resolve("critic_steps", params["critic_steps"], FitFacts(trains_privately(params)))

    assert critic_steps() == 5
    assert critic_steps(epsilon=1.0) == 1
    assert critic_steps(noise_multiplier=1.1) == 1
    assert critic_steps(critic_steps=3, epsilon=1.0) == 3
    df, schema = mixed_frame(n_series=10)

    def losses(**kwargs):
        synth = DGSynthesizer(epochs=2, batch_size=5, random_state=0, **SMALL, **kwargs)
        return synth.fit(df, schema).history_[["critic_loss", "generator_loss"]].to_numpy()

    auto = losses()
    np.testing.assert_allclose(auto, losses(critic_steps=5), rtol=1e-5)
    assert not np.allclose(auto, losses(critic_steps=1), rtol=1e-3)


def test_noise_skip_feeds_each_steps_noise_to_its_records_and_survives_save(tmp_path):
    from dgkeras.networks import build_feature_generator
    from dgkeras.outputs import Output

    df, schema = mixed_frame(n_series=10)
    plain = DGSynthesizer(epochs=2, batch_size=5, random_state=0, **SMALL).fit(df, schema)
    skip = DGSynthesizer(epochs=2, batch_size=5, random_state=0, noise_skip=True,
                         **SMALL).fit(df, schema)
    # The records' layer reads the LSTM's 16 units and, with the skip, the step's 5 noise
    # values.
    widths = [s.model_.feature_generator.get_layer("records_out").kernel.shape[0]
              for s in (plain, skip)]
    assert widths == [16, 16 + 5]
    assert skip.model_.config.noise_skip and not plain.model_.config.noise_skip
    fake = skip.sample(20, random_state=3)
    assert not fake.equals(plain.sample(20, random_state=3))
    skip.save(tmp_path / "model.dgk")
    again = DGSynthesizer.load(tmp_path / "model.dgk")
    assert again.get_params()["noise_skip"] is True
    pd.testing.assert_frame_equal(again.sample(20, random_state=3), fake)
    # Under mixed precision the LSTM computes in float16; the records stay float32.
    outputs = [Output("x", 1, "sigmoid"), Output("flag", 2, "softmax")]
    net = build_feature_generator(4, 5, 3, 2, outputs, 8, 1, 0, mixed_precision=True,
                                  noise_skip=True)
    records = net([np.zeros((2, 4), np.float32), np.ones((2, 3, 5), np.float32)])
    assert records.dtype == tf.float32 and records.shape == (2, 6, 3)
