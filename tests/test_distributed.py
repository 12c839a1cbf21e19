"""Training under tf.distribute: 2 logical CPUs (also with packed critics), DP noise under
replication, two workers.

Each setting runs in fresh interpreters (tests/distributed_run.py), as
TensorFlow fixes its devices and cluster at start-up.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent
SCRIPT = HERE / "distributed_run.py"


def _run(mode, out, env=None, wait=True):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", **(env or {})}
    command = [sys.executable, str(SCRIPT), mode, str(out)]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(pathlib.Path(out).read_text())


def test_two_replicas_follow_the_one_device_trajectory(tmp_path):
    result = _run("mirrored", tmp_path / "out.json")
    assert result["replicas"] == 2
    np.testing.assert_allclose(result["two"], result["one"], rtol=1e-5, atol=1e-6)
    assert result["max_weight_difference"] < 1e-5
    assert result["multi_step_weight_difference"] < 1e-5
    assert result["options_weight_difference"] < 1e-5
    assert result["sample_difference"] < 1e-3
    assert result["replicated_sampling_difference"] < 1e-5


def test_dp_noise_is_added_once_per_global_batch_at_full_scale(tmp_path):
    result = _run("dp-noise", tmp_path / "out.json")
    assert result["n"] > 100_000
    # Two replicas each add noise of std sigma*C/sqrt(2); summed, one full draw.
    # Identical noise on both would give sqrt(2) times this; noise on one only, 1/sqrt(2).
    assert result["std"] == pytest.approx(result["expected"], rel=0.02)


def _free_ports(k):
    sockets = [socket.socket() for _ in range(k)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_localhost_end_with_identical_weights(tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    children = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        children.append(_run("worker", tmp_path / f"w{index}.npz",
                             env={"TF_CONFIG": json.dumps(config)}, wait=False))
    for child in children:
        _, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-4000:]
    first, second = (np.load(tmp_path / f"w{i}.npz") for i in range(2))
    assert sorted(first.files) == sorted(second.files) and len(first.files) > 10
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert first["history"].shape == (3, 3) and np.isfinite(first["history"]).all()
