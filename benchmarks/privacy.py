"""Privacy benchmark on the FCC MBA data: the fidelity cost of DP and membership leakage.

Table 1: for epsilon in {inf, 10, 1, 0.1}, fit on 500 homes (100 held out) and report
    autocorrelation MSE of traffic, W1 of per-home total traffic for DSL and cable users
    (the paper's Table 2; on the data's own [0, 1] scale summed over the 56 records),
    JSD of the technology marginal, the membership-inference success rate, and wall time.
Table 2: membership-inference success vs training-set size without DP (the paper's
    Fig. 15 trend), each size trained for the same number of steps.

    python benchmarks/privacy.py            # about 25 minutes on 2 cores
    python benchmarks/privacy.py --quick    # a smoke run of a minute or two
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from dgkeras import DGSynthesizer  # noqa: E402
from dgkeras.datasets import load_fcc_mba  # noqa: E402
from dgkeras.membership import membership_inference  # noqa: E402
from dgkeras.metrics import attribute_jsd, autocorrelation_mse, statistic_w1  # noqa: E402


def split_homes(df: pd.DataFrame, n_holdout: int, seed: int = 0):
    homes = df["home_id"].unique()
    held = np.random.default_rng(seed).choice(homes, n_holdout, replace=False)
    mask = df["home_id"].isin(held)
    return df[~mask], df[mask]


def fidelity_row(train, holdout, schema, synth, seconds):
    fake = synth.sample(train["home_id"].nunique(), random_state=1)
    w1 = statistic_w1(train, fake, schema, "traffic_byte_counter total", by="technology")
    attack = membership_inference(synth, train, holdout, random_state=2)
    return {
        "autocorr MSE": autocorrelation_mse(train, fake, schema)["traffic_byte_counter"],
        "W1 total DSL": w1.get("DSL", math.nan),
        "W1 total Cable": w1.get("Cable", math.nan),
        "JSD technology": attribute_jsd(train, fake, schema)["technology"],
        "MIA success": attack.success_rate,
        "fit seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny epochs, a smoke run")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--size-steps", type=int, default=1000,
                        help="training steps per fit in the training-set size table")
    args = parser.parse_args()
    # Each fit builds new compiled functions; TensorFlow's retracing notices are noise here.
    tf.get_logger().setLevel("ERROR")
    epochs = 3 if args.quick else args.epochs
    size_steps = 20 if args.quick else args.size_steps

    df, schema = load_fcc_mba()
    train, holdout = split_homes(df, 100)
    rows = {}
    for epsilon in (math.inf, 10.0, 1.0, 0.1):
        synth = DGSynthesizer(epochs=epochs, random_state=0, verbose=0,
                              epsilon=None if math.isinf(epsilon) else epsilon)
        start = time.perf_counter()
        synth.fit(train, schema)
        seconds = time.perf_counter() - start
        row = fidelity_row(train, holdout, schema, synth, seconds)
        row["sigma"] = synth.noise_multiplier_ or 0.0
        row["epsilon spent"] = synth.epsilon_ if synth.epsilon_ is not None else math.inf
        rows[f"epsilon={epsilon:g}"] = row
        print(f"epsilon={epsilon:g}: {row}", flush=True)
    table = pd.DataFrame(rows).T
    print(f"\nFidelity and leakage vs epsilon (MBA, 500 homes, {epochs} epochs, batch 100, "
          f"delta 1/(10 n)):")
    print(table.to_markdown(floatfmt=".4g") if _has_tabulate() else table.to_string())

    sizes = {}
    for n_train in (50, 100, 200, 400):
        subset = train[train["home_id"].isin(train["home_id"].unique()[:n_train])]
        batch = min(100, n_train)
        size_epochs = max(1, round(size_steps * batch / n_train))
        synth = DGSynthesizer(epochs=size_epochs, batch_size=batch, random_state=0, verbose=0)
        start = time.perf_counter()
        synth.fit(subset, schema)
        seconds = time.perf_counter() - start
        attack = membership_inference(synth, subset, holdout, random_state=2)
        sizes[n_train] = {"MIA success": attack.success_rate, "epochs": size_epochs,
                          "fit seconds": seconds}
        print(f"n_train={n_train}: {sizes[n_train]}", flush=True)
    print(f"\nMembership-inference success vs training-set size (no DP, {size_steps} steps):")
    print(pd.DataFrame(sizes).T.to_string(float_format=lambda v: f"{v:.3g}"))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
