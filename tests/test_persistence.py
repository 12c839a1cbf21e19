"""Pickle and save/load round trips, in fresh processes, and refusal of bad files."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, attribute_frame

from dgkeras import DataError, DGSynthesizer
from dgkeras.persistence import FORMAT_VERSION, read_model_file


def _run_fresh(code, tmp_path):
    """Run code in a new interpreter without a GPU; it writes sample.csv into tmp_path."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return (tmp_path / "sample.csv").read_text()


def test_pickle_round_trip_in_fresh_process(fitted_attributes, tmp_path):
    synth, _, _ = fitted_attributes
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(synth))
    fresh = _run_fresh("""
        import pickle
        synth = pickle.loads(open("model.pkl", "rb").read())
        synth.sample(40, random_state=11).to_csv("sample.csv", index=False)
    """, tmp_path)
    assert fresh == synth.sample(40, random_state=11).to_csv(index=False)
    copy = pickle.loads(pickle.dumps(synth))
    pd.testing.assert_frame_equal(copy.history_, synth.history_)
    assert copy.get_params() == synth.get_params()


def test_pickle_holds_only_data(fitted_attributes):
    synth, _, _ = fitted_attributes
    state = synth.__getstate__()
    allowed = (type(None), bool, int, float, str, list, tuple, dict, np.ndarray)

    def check(value, where):
        assert isinstance(value, allowed), f"{where} is a {type(value).__name__}"
        if isinstance(value, dict):
            for k, v in value.items():
                check(v, f"{where}.{k}")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                check(v, f"{where}[{i}]")

    check(state, "state")


def test_save_load_in_fresh_process_without_pickle(fitted_mixed, tmp_path):
    synth, _, _ = fitted_mixed
    synth.save(tmp_path / "model.dgk")
    fresh = _run_fresh("""
        import pickle
        def refuse(*args, **kwargs):
            raise AssertionError("pickle used while loading")
        class RefusingUnpickler(pickle.Unpickler):
            # A class, not a function: Keras 3 subclasses pickle.Unpickler at import.
            def __init__(self, *args, **kwargs):
                refuse()
        pickle.load = pickle.loads = refuse
        pickle.Unpickler = RefusingUnpickler
        from dgkeras import DGSynthesizer
        synth = DGSynthesizer.load("model.dgk")
        synth.sample(25, random_state=3).to_csv("sample.csv", index=False)
    """, tmp_path)
    assert fresh == synth.sample(25, random_state=3).to_csv(index=False)
    loaded = DGSynthesizer.load(tmp_path / "model.dgk")
    assert loaded.get_params() == synth.get_params()
    pd.testing.assert_frame_equal(loaded.history_, synth.history_)
    assert loaded.schema_ == synth.schema_


def test_saved_file_is_json_and_arrays(fitted_mixed, tmp_path):
    synth, _, _ = fitted_mixed
    path = tmp_path / "model.dgk"
    synth.save(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        meta = json.loads(np.load(archive.open("meta.json.npy")).tobytes())
    assert meta["format"] == "dgkeras-model" and meta["format_version"] == FORMAT_VERSION
    assert meta["params"]["epochs"] == 2 and meta["encoder"]["schema"]["id_column"] == "sid"
    assert all(n == "meta.json.npy" or n.startswith("weights/") for n in names)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def _rewrite(path, target, mutate_meta=None, drop=None):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["meta.json"].tobytes())
    if mutate_meta:
        mutate_meta(meta)
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    for key in drop or []:
        arrays.pop(key)
    with open(target, "wb") as f:
        np.savez(f, **arrays)


def test_refuses_truncated_corrupt_foreign_and_newer_files(fitted_mixed, tmp_path):
    synth, _, _ = fitted_mixed
    good = tmp_path / "model.dgk"
    synth.save(good)
    raw = good.read_bytes()
    (tmp_path / "truncated.dgk").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        DGSynthesizer.load(tmp_path / "truncated.dgk")
    (tmp_path / "garbage.dgk").write_bytes(b"not a model at all")
    with pytest.raises(DataError, match="corrupt or truncated"):
        DGSynthesizer.load(tmp_path / "garbage.dgk")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="not a dgkeras model file"):
        DGSynthesizer.load(tmp_path / "other.npz")
    _rewrite(good, tmp_path / "newer.dgk",
             lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(DataError, match="newer than the 1 this dgkeras reads"):
        DGSynthesizer.load(tmp_path / "newer.dgk")
    _rewrite(good, tmp_path / "missing.dgk", drop=["weights/critic/0"])
    with pytest.raises(DataError, match="incomplete or inconsistent"):
        DGSynthesizer.load(tmp_path / "missing.dgk")
    # A file holding a pickled object array is refused, never unpickled.
    np.savez(tmp_path / "pickled.dgk", **{"meta.json": np.array([{"a": 1}], dtype=object)})
    os.replace(tmp_path / "pickled.dgk.npz", tmp_path / "pickled.dgk")
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_model_file(tmp_path / "pickled.dgk")


def test_save_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DGSynthesizer().save("never-written.dgk")
    assert not os.path.exists("never-written.dgk")


def _assert_same_sample(got, expected_csv, like):
    expected = pd.read_csv(expected_csv)
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == like.dtypes.to_dict()
    for column in ["id", "t", "region", "premium", "size"]:
        assert got[column].tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(got["usage"], expected["usage"], rtol=1e-5)


def test_files_written_on_the_tensorflow_2_15_stack_load_and_sample_the_same():
    """tests/data/tf215_* were written with Keras 2 and NumPy 1 (make_stack_fixture.py)."""
    df = attribute_frame()[0]
    saved = DGSynthesizer.load(DATA / "tf215_model.dgk")
    pickled = pickle.loads((DATA / "tf215_model.pkl").read_bytes())
    for synth in (saved, pickled):
        _assert_same_sample(synth.sample(20, random_state=5), DATA / "tf215_sample.csv", df)
        assert synth.n_series_ == 30 and len(synth.history_) == 3
        # Parameters added since then get their defaults, or the value such
        # models had: they were sampled through XLA.
        assert synth.get_params()["dp_noise_source"] == "auto"
        assert synth.get_params()["jit_sampling"] is True
        assert synth.model_.config.jit_sampling is True
        assert synth.model_._records_function._jit_compile is True
        assert synth.get_params()["noise_skip"] is False and not synth.model_.config.noise_skip
    assert saved.get_params() == pickled.get_params()
    private = DGSynthesizer.load(DATA / "tf215_dp_model.dgk")
    _assert_same_sample(private.sample(20, random_state=5), DATA / "tf215_dp_sample.csv", df)
    assert private.dp_settings_.noise_source == "tf-privacy"
    assert private.noise_multiplier_ == 1.0 and private.epsilon_ > 0
