"""The peer (gretel-synthetics' PyTorch DGAN) timed as a user times it; run by speed.py --user.

Runs under the peer's venv (bash shared/bench/setup_peer.sh), on the workloads and network
settings of the peer reference script (shared/bench/peer_dgan.py, imported from its path so
that the data and configuration are its own, to the letter). Prints, one per line:

  fit_wall_s          train_numpy (or train_dataframe with --frame) from call to return
  fit_steps_per_s     training steps (epochs x series // 100) per second of fit_wall_s
  sample_first_call_s the first generate_numpy(--n-sample) (generate_dataframe with --frame)
  sample_series_per_s the same call repeated: series per second, the median of --repeats
  fit_peak_rss_mb     peak resident memory of the process when training returned
  first_sample_peak_rss_mb  the same after the first sampling call
  peak_rss_mb         peak resident memory of the process at its end

    PEER_VENV/bin/python benchmarks/peer_user.py mba --epochs 100
    PEER_VENV/bin/python benchmarks/peer_user.py wwt-shape --epochs 10 --frame
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import resource
import statistics
import time

DEFAULT_PEER_SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "shared" / "bench" / \
    "peer_dgan.py"


def load_reference(path: str):
    """The peer reference script as a module (its workloads and imports)."""
    spec = importlib.util.spec_from_file_location("peer_dgan", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config(reference, max_sequence_len: int, sample_len: int, epochs: int):
    """The reference script's DGANConfig (paper sizes, batch 100, one critic round)."""
    return reference.DGANConfig(
        max_sequence_len=max_sequence_len, sample_len=sample_len, batch_size=100,
        epochs=epochs, attribute_num_layers=3, attribute_num_units=100, feature_num_layers=1,
        feature_num_units=100, attribute_noise_dim=5, feature_noise_dim=5,
        generator_learning_rate=1e-3, discriminator_learning_rate=1e-3,
        attribute_discriminator_learning_rate=1e-3, apply_example_scaling=True,
        use_attribute_discriminator=True, cuda=False)


def long_frame(features, attributes):
    """The arrays as a long table: series, step, attributes a0.. and features f0.."""
    import numpy as np
    import pandas as pd

    n, t, d = features.shape
    frame = pd.DataFrame({"series": np.repeat(np.arange(n), t),
                          "step": np.tile(np.arange(t), n)})
    for j in range(attributes.shape[1]):
        frame[f"a{j}"] = np.repeat(attributes[:, j].astype(np.int64), t)
    for k in range(d):
        frame[f"f{k}"] = features[:, :, k].reshape(-1)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["wwt-shape", "mba"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-sample", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frame", action="store_true",
                        help="train_dataframe on the long table and time generate_dataframe")
    parser.add_argument("--peer-script", default=str(DEFAULT_PEER_SCRIPT))
    args = parser.parse_args()
    reference = load_reference(args.peer_script)
    reference.torch.set_num_threads(args.threads)
    features, attributes, sample_len = (reference.wwt_shape() if args.workload == "wwt-shape"
                                        else reference.mba())
    model = reference.DGAN(config(reference, features.shape[1], sample_len, args.epochs))
    if args.frame:
        frame = long_frame(features, attributes)
        names = [f"a{j}" for j in range(attributes.shape[1])]
        start = time.perf_counter()
        model.train_dataframe(frame, df_style="long", example_id_column="series",
                              time_column="step", attribute_columns=names,
                              discrete_columns=names)

        def generate():
            return model.generate_dataframe(args.n_sample)
    else:
        start = time.perf_counter()
        model.train_numpy(features=features, attributes=attributes,
                          attribute_types=[reference.OutputType.DISCRETE] * attributes.shape[1],
                          feature_types=[reference.OutputType.CONTINUOUS] * features.shape[2])

        def generate():
            return model.generate_numpy(args.n_sample)
    wall = time.perf_counter() - start
    print(f"fit_wall_s={wall:.3f}")
    print(f"fit_peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    # As the reference script counts them: full batches of 100 per epoch.
    print(f"fit_steps_per_s={args.epochs * (features.shape[0] // 100) / wall:.3f}")
    start = time.perf_counter()
    generate()
    print(f"sample_first_call_s={time.perf_counter() - start:.3f}")
    print(f"first_sample_peak_rss_mb="
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        generate()
        seconds.append(time.perf_counter() - start)
    print(f"sample_series_per_s={args.n_sample / statistics.median(seconds):.1f}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
