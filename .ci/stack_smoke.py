"""Smoke test of one installed stack: fit, sample, DP fit, save, load, old files.

Run from the repository root by .ci/run, in a venv where only ``pip install .`` was done
(no test extras): it needs nothing but the package and the files in tests/data.

    python .ci/stack_smoke.py
"""

import os
import pathlib
import pickle
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from dgkeras import DataError, DGSynthesizer  # noqa: E402
from dgkeras.datasets import load_fcc_mba  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
SMALL = dict(attribute_units=(16, 16), lstm_units=16, critic_units=(32, 32), verbose=0)
checks = {"passed": 0, "failed": 0}


def check(name, condition):
    checks["passed" if condition else "failed"] += 1
    print(f"{'ok  ' if condition else 'FAIL'} {name}", flush=True)


def main() -> None:
    start = time.perf_counter()
    print(f"Python {sys.version.split()[0]}, TensorFlow {tf.__version__}, Keras "
          f"{tf.keras.__version__}, NumPy {np.__version__}, pandas {pd.__version__}")
    df, schema = load_fcc_mba()
    df = df[df[schema.id_column].isin(df[schema.id_column].unique()[:120])]
    synth = DGSynthesizer(epochs=2, batch_size=20, random_state=0, **SMALL).fit(df, schema)
    fake = synth.sample(50, random_state=1)
    check("fit + sample: 50 series in the training columns and dtypes",
          fake[schema.id_column].nunique() == 50
          and fake.dtypes.to_dict() == df.dtypes.to_dict())
    check("a seed gives the same sample",
          synth.sample(50, random_state=1).equals(fake))
    private = DGSynthesizer(epochs=2, batch_size=20, epsilon=5.0, random_state=0,
                            **SMALL).fit(df, schema)
    again = DGSynthesizer(epochs=2, batch_size=20, epsilon=5.0, random_state=0,
                          **SMALL).fit(df, schema)
    check(f"DP fit spends at most its budget (epsilon_ {private.epsilon_:.3f}, noise from "
          f"{private.dp_settings_.noise_source})", 0 < private.epsilon_ <= 5.0)
    check("the same DP fit again samples the same",
          private.dp_settings_.noise_source != "dgkeras"
          or private.sample(20, random_state=2).equals(again.sample(20, random_state=2)))
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.dgk"
        private.save(path)
        loaded = DGSynthesizer.load(path)
    check("save + load samples the same",
          loaded.sample(20, random_state=3).equals(private.sample(20, random_state=3)))
    check("pickle round trip samples the same",
          pickle.loads(pickle.dumps(synth)).sample(20, random_state=3).equals(
              synth.sample(20, random_state=3)))
    expected = pd.read_csv(DATA / "tf215_sample.csv")
    for name in ("tf215_model.dgk", "tf215_model.pkl"):
        old = (DGSynthesizer.load(DATA / name) if name.endswith(".dgk")
               else pickle.loads((DATA / name).read_bytes()))
        got = old.sample(20, random_state=5)
        check(f"{name} (written on TensorFlow 2.15) samples as it did there",
              got[["id", "t", "region"]].astype(str).equals(
                  expected[["id", "t", "region"]].astype(str))
              and np.allclose(got["usage"], expected["usage"], rtol=1e-5))
    try:
        DGSynthesizer(epochs=1, **SMALL).fit(df.drop(columns=["isp"]), schema)
        refused = False
    except DataError as exc:
        refused = "isp" in str(exc)
    check("bad input gets a DataError naming the column", refused)
    print(f"stack smoke test: {time.perf_counter() - start:.0f} s")
    print(f"{checks['passed']} passed, {checks['failed']} failed")
    sys.exit(1 if checks["failed"] else 0)


if __name__ == "__main__":
    main()
