"""sample_arrays gives the series of sample() as one array row per series."""

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL
from sklearn.exceptions import NotFittedError
from test_timing import irregular_frame

from dgkeras import DataError, DGSynthesizer


def _as_long(arrays, schema):
    """Rebuild the long table sample() gives from a SampleArrays."""
    n = len(arrays.lengths)
    series = np.repeat(np.arange(n), arrays.lengths)
    positions = np.concatenate([np.arange(k) for k in arrays.lengths])
    columns = {}
    for name in arrays.attributes.columns:
        columns[name] = arrays.attributes[name].iloc[series].reset_index(drop=True)
    if arrays.times is not None:
        columns[schema.time_column] = arrays.times.iloc[positions].reset_index(drop=True)
    for name, values in arrays.features.items():
        columns[name] = values[series, positions]
    return pd.DataFrame(columns)


def test_arrays_hold_the_series_of_sample(fitted_mixed):
    synth, _, schema = fitted_mixed
    long = synth.sample(40, random_state=3)
    arrays = synth.sample_arrays(40, random_state=3)
    assert list(arrays.attributes.columns) == ["sid"]
    assert arrays.lengths.tolist() == long.groupby("sid", sort=False).size().tolist()
    rebuilt = _as_long(arrays, schema)[long.columns]
    for name in ("sid", "t"):
        pd.testing.assert_series_equal(rebuilt[name], long[name])
    np.testing.assert_array_equal(rebuilt["count"].astype(float), long["count"].astype(float))
    np.testing.assert_allclose(rebuilt["load"].astype(float), long["load"], rtol=0)
    for name in ("flag", "level", "code"):
        assert rebuilt[name].tolist() == long[name].tolist()


def test_arrays_pad_after_each_end(fitted_mixed):
    synth, _, _ = fitted_mixed
    arrays = synth.sample_arrays(30, random_state=1)
    width = synth.max_sequence_len_
    past_end = np.arange(width)[None, :] >= arrays.lengths[:, None]
    assert arrays.lengths.min() >= 1 and arrays.lengths.max() <= width
    for name in ("count", "load"):
        values = arrays.features[name]
        assert values.shape == (30, width) and values.dtype == np.float64
        assert np.isnan(values[past_end]).all() and not np.isnan(values[~past_end]).any()
    assert np.array_equal(arrays.features["count"][~past_end],
                          np.rint(arrays.features["count"][~past_end]))
    level = arrays.features["level"]
    assert level.dtype == object
    assert all(v is None for v in level[past_end])
    assert set(level[~past_end]) <= {"lo", "mid", "hi", "unused"}
    assert arrays.times.tolist() == list(range(width))


def test_arrays_with_length_and_given_attributes(fitted_attributes):
    synth, _, _ = fitted_attributes
    given = pd.DataFrame({"region": ["n", "s", "e"], "premium": [True, False, True],
                          "size": [0, 10, 20]})
    arrays = synth.sample_arrays(attributes=given, length=4, random_state=2)
    assert arrays.lengths.tolist() == [4, 4, 4]
    pd.testing.assert_frame_equal(arrays.attributes[["region", "premium", "size"]], given,
                                  check_dtype=False)
    assert arrays.attributes["id"].dtype == np.int64
    usage = arrays.features["usage"]
    assert np.isnan(usage[:, 4:]).all() and not np.isnan(usage[:, :4]).any()
    long = synth.sample(attributes=given, length=4, random_state=2)
    np.testing.assert_allclose(usage[:, :4].ravel(), long["usage"], rtol=0)


def test_arrays_refuse_learned_times_bad_input_and_unfitted():
    df, schema = irregular_frame("int")
    synth = DGSynthesizer(epochs=1, batch_size=6, random_state=0, time_mode="learned",
                          **SMALL).fit(df, schema)
    with pytest.raises(DataError, match="time_mode='learned'; use sample()"):
        synth.sample_arrays(5)
    with pytest.raises(NotFittedError):
        DGSynthesizer().sample_arrays(5)


def test_arrays_check_their_arguments(fitted_mixed):
    synth, _, _ = fitted_mixed
    with pytest.raises(DataError, match="n must be a positive integer"):
        synth.sample_arrays(0)
    with pytest.raises(DataError, match="length must be an integer"):
        synth.sample_arrays(3, length=10_000)


def test_arrays_decoded_block_by_block_equal_one_block(fitted_attributes):
    """Blocks are generated ahead on a worker thread and decoded into their rows."""
    from dgkeras.sampling import Sampler

    synth, _, _ = fitted_attributes
    given = pd.DataFrame({"region": ["n", "s", "e"] * 9, "premium": [True, False] * 13 + [True],
                          "size": list(range(0, 54, 2))})
    whole = Sampler(synth.encoder_, synth.model_, noise_block=4)
    one = whole.arrays(whole.request(None, given, None, 6))
    blocked = Sampler(synth.encoder_, synth.model_, noise_block=4, batch=8)
    assert [len(b[2]) for b in blocked.blocks(blocked.request(27, None, None, 6))] == [8, 8, 8, 3]
    blocks = blocked.arrays(blocked.request(None, given, None, 6))
    pd.testing.assert_frame_equal(blocks.attributes, one.attributes)
    assert blocks.attributes["size"].tolist() == list(range(0, 54, 2))
    np.testing.assert_array_equal(blocks.lengths, one.lengths)
    # Equal up to the float32 rounding of XLA programs compiled for other batch sizes.
    np.testing.assert_allclose(blocks.features["usage"], one.features["usage"], rtol=1e-5)
    long = blocked.frame(blocked.request(None, given, None, 6))
    assert len(long) == blocks.lengths.sum()
    np.testing.assert_array_equal(_as_long(blocks, synth.schema_)["usage"], long["usage"])


def test_stopping_early_leaves_no_sampling_thread(fitted_attributes):
    import threading

    from dgkeras.sampling import Sampler

    synth, _, _ = fitted_attributes
    sampler = Sampler(synth.encoder_, synth.model_, batch=1000)
    chunks = sampler.chunks(sampler.request(5000, None, None, 0), chunk_size=1000)
    first = next(chunks)
    assert first["id"].nunique() == 1000
    assert any(t.name.startswith("dgkeras-sample") for t in threading.enumerate())
    chunks.close()
    assert not any(t.name.startswith("dgkeras-sample") for t in threading.enumerate())


def test_long_series_go_through_in_smaller_generator_calls(fitted_attributes, monkeypatch):
    """Series per call shrink with the LSTM's steps, in whole noise blocks, within bounds."""
    from dgkeras import sampling
    from dgkeras.sampling import SAMPLE_BATCH, SAMPLE_LSTM_STEPS, Sampler, series_per_call

    assert series_per_call(1) == SAMPLE_BATCH == 5000
    assert series_per_call(SAMPLE_LSTM_STEPS // SAMPLE_BATCH) == 5000
    assert series_per_call(55) == 2000  # 120,000 // 55 = 2,181, in blocks of 1,000
    assert series_per_call(61) == 1000
    assert series_per_call(10_000) == 1000  # never below one noise block
    assert series_per_call(55, noise_block=300) == 2100
    synth, _, _ = fitted_attributes
    sampler = Sampler(synth.encoder_, synth.model_)
    assert sampler.batch == series_per_call(synth.model_.config.n_steps)
    # A budget of 3,000 series of this model's length: calls of 3,000 series.
    monkeypatch.setattr(sampling, "SAMPLE_LSTM_STEPS", 3000 * synth.model_.config.n_steps)
    assert Sampler(synth.encoder_, synth.model_).batch == 3000
    assert Sampler(synth.encoder_, synth.model_, batch=8).batch == 8
