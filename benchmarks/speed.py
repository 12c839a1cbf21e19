"""Training and sampling speed of dgkeras on the standard workloads, beside the peer.

Workloads (the same definitions as the peer reference script, shared/bench/peer_dgan.py):
  wwt-shape  1000 series x 550 records, 1 continuous feature with weekly and yearly cycles
             and log-normal amplitudes, 3 categorical attributes (9, 3, 2 values); S=10.
  mba        the FCC MBA data, 600 x 56, 2 continuous features, 3 categorical attributes; S=8.
Paper network sizes, batch 100, Adam 1e-3, auxiliary critic and per-series scaling on,
one critic update per step on both sides.

Each measurement runs in its own process and prints train_steps_per_s (one-time graph
tracing excluded and reported as tracing_s), sample_first_call_s (the first
sample_arrays() of the fitted model, --n-sample series, default 10,000), then as medians
of --repeats calls (default 3): sample_series_per_s (a long DataFrame with sample()),
sample_arrays_series_per_s (the same series as decoded arrays with sample_arrays(), what
the peer's generate_numpy returns) and generate_only_series_per_s (the networks alone);
and the process's peak RSS when fit() returned (fit_peak_rss_mb), after the first
sampling call (first_sample_peak_rss_mb) and at its end (peak_rss_mb).

    python benchmarks/speed.py                       # both workloads, dgkeras only
    python benchmarks/speed.py --peer --rounds 3     # alternate with the peer, print ratios
    python benchmarks/speed.py --against /tmp/tf215/bin/python --rounds 3
                                                     # alternate with another stack's Python
    python benchmarks/speed.py --user --rounds 3     # as a user times both, beside the peer
    python benchmarks/speed.py --user --critic-steps auto   # dgkeras' default vs the peer's
    python benchmarks/speed.py --workload mba --epochs 400 --critic-steps auto \
        --against-param marginal_weight=0 --rounds 2   # alternate with a setting changed
    python benchmarks/speed.py --memory              # 50,000 x 550 fit, 1M-series streaming
    python benchmarks/speed.py --mixed-precision     # float16 hidden layers (for GPUs)

--against runs the same measurement of this checkout's dgkeras under another interpreter
(e.g. a venv made with pip install ".[tf-privacy]": TensorFlow 2.15, Keras 2, NumPy 1);
fit_wall_s is fit() from call to return, tracing and encoding included. --against-param
NAME=VALUE (repeatable, VALUE as JSON) alternates instead with this interpreter and those
DGSynthesizer parameters, e.g. to time a default against the setting it replaced.

--user alternates dgkeras and the peer (benchmarks/peer_user.py) in rounds and prints what
a user waits for: fit() from call to return at 1, 10 and 100 epochs, the first
sample_arrays() of the 100-epoch model beside the peer's first generate_numpy(), the first
sample() of that model saved and loaded in a fresh process beside the peer's first
generate_dataframe() after train_dataframe(), then warm calls, steady-state training and
peak RSS, each with the median of the per-round speed-ups.

--peer and --user need the peer's venv (bash shared/bench/setup_peer.sh; default /tmp/peer-venv) and
the peer script (--peer-script, default ../shared/bench/peer_dgan.py from the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_PEER_SCRIPT = ROOT.parent / "shared" / "bench" / "peer_dgan.py"
FIGURES = ("fit_wall_s", "train_steps_per_s", "sample_series_per_s", "peak_rss_mb")
#: Our figure -> the peer's figure it is compared with. The peer's sampling figure
#: times generate_numpy (decoded arrays); ours is timed three ways: to a DataFrame
#: in the training columns and dtypes (sample), to decoded arrays like the peer's
#: (sample_arrays), and the generators alone without decoding.
PEER_FIGURE = {"train_steps_per_s": "train_steps_per_s",
               "sample_series_per_s": "sample_series_per_s",
               "sample_arrays_series_per_s": "sample_series_per_s",
               "generate_only_series_per_s": "sample_series_per_s",
               "peak_rss_mb": "peak_rss_mb"}


# ------------------------------------------------------------ workloads
def wwt_shape(n=1000, t=550, seed=0):
    """The peer script's wwt-shape data, to the letter: (features, attributes, S)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    steps = np.arange(t)
    amp = rng.lognormal(3, 1.5, size=(n, 1))
    cycle = 1 + 0.5 * np.sin(2 * np.pi * steps / 7) + 0.3 * np.sin(2 * np.pi * steps / 365)
    feat = amp * cycle + rng.normal(0, 1, (n, t)) * amp * 0.1
    attr = np.stack([rng.integers(0, 9, n), rng.integers(0, 3, n), rng.integers(0, 2, n)], 1)
    return feat[..., None].astype(np.float32), attr.astype(np.float32), 10


def workload_frame(name: str, n_series: int = 1000):
    """A long DataFrame, schema and S for a workload."""
    import numpy as np
    import pandas as pd

    from dgkeras import Schema
    from dgkeras.datasets import load_fcc_mba

    if name == "mba":
        df, schema = load_fcc_mba(with_time=False)
        return df, schema, 8
    feat, attr, s = wwt_shape(n=n_series)
    n, t, _ = feat.shape
    df = pd.DataFrame({"series": np.repeat(np.arange(n), t), "step": np.tile(np.arange(t), n)})
    for j in range(attr.shape[1]):
        df[f"a{j}"] = np.repeat(attr[:, j].astype(np.int64), t)
    df["value"] = feat.reshape(-1)
    schema = Schema("series", "step", {f"a{j}": "categorical" for j in range(3)},
                    {"value": "continuous"})
    return df, schema, s


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------ workers
def warm_rate(call, n: int, repeats: int) -> float:
    """Series per second of ``call`` (which makes ``n`` series): the median of ``repeats``."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return n / statistics.median(seconds)


def run_load_worker(args: argparse.Namespace) -> None:
    """Load a saved model in this process and time its first and warm ``sample()``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dgkeras import DGSynthesizer

    start = time.perf_counter()
    synth = DGSynthesizer.load(args.load)
    print(f"load_s={time.perf_counter() - start:.2f}")
    start = time.perf_counter()
    synth.sample(args.n_sample, random_state=0)
    print(f"sample_first_call_s={time.perf_counter() - start:.2f}")
    rate = warm_rate(lambda: synth.sample(args.n_sample, random_state=1), args.n_sample,
                     args.repeats)
    print(f"sample_series_per_s={rate:.1f}")
    print(f"peak_rss_mb={peak_rss_mb():.0f}")


def run_worker(args: argparse.Namespace) -> None:
    """Measure dgkeras on one workload in this process and print the figures."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dgkeras import DGSynthesizer
    from dgkeras.sampling import Sampler

    df, schema, s = workload_frame(args.worker, args.n_series)
    n = df[schema.id_column].nunique()
    # One critic update per step by default, as the peer's discriminator_rounds=1: the
    # same work per step (dgkeras' default, critic_steps="auto", makes 5 without DP).
    critic_steps = args.critic_steps if args.critic_steps == "auto" else int(args.critic_steps)
    synth = DGSynthesizer(sample_len=s, epochs=args.epochs, batch_size=100, verbose=0,
                          critic_steps=critic_steps,
                          mixed_precision=args.mixed_precision,
                          steps_per_call=args.steps_per_call,
                          random_state=0, **parse_params(args.param))
    start = time.perf_counter()
    synth.fit(df, schema)
    wall = time.perf_counter() - start
    print(f"fit_wall_s={wall:.2f}")
    print(f"fit_peak_rss_mb={peak_rss_mb():.0f}")
    del df
    if args.save:
        synth.save(args.save)
    seconds = synth.history_["seconds"].to_numpy()
    steps_per_epoch = n // 100
    if len(seconds) > 1:
        rate = steps_per_epoch * (len(seconds) - 1) / seconds[1:].sum()
        print(f"train_steps_per_s={rate:.3f}")
        print(f"tracing_s={seconds[0] - steps_per_epoch / rate:.2f}")
    print(f"fit_steps_per_s={steps_per_epoch * len(seconds) / wall:.3f}")
    # The first call traces the sampling function and builds its kernels: its time is
    # reported apart.
    start = time.perf_counter()
    synth.sample_arrays(args.n_sample, random_state=0)
    print(f"sample_first_call_s={time.perf_counter() - start:.2f}")
    print(f"first_sample_peak_rss_mb={peak_rss_mb():.0f}")
    # The warm figures are medians of --repeats calls: one call's time moves by 20 to 40%
    # from process to process with the cost of the memory it touches first.
    fake = None

    def sample_frame():
        nonlocal fake
        fake = synth.sample(args.n_sample, random_state=1)

    def generate_only():
        sampler = Sampler(synth.encoder_, synth.model_)
        for _ in sampler.blocks(sampler.request(args.n_sample, None, None, 1)):
            pass

    print(f"sample_series_per_s={warm_rate(sample_frame, args.n_sample, args.repeats):.1f}")
    # Records per generated series: the DataFrame figure depends on it.
    print(f"sample_mean_length={len(fake) / args.n_sample:.1f}")
    del fake
    arrays_rate = warm_rate(lambda: synth.sample_arrays(args.n_sample, random_state=1),
                            args.n_sample, args.repeats)
    print(f"sample_arrays_series_per_s={arrays_rate:.1f}")
    print(f"generate_only_series_per_s="
          f"{warm_rate(generate_only, args.n_sample, args.repeats):.1f}")
    if args.stream:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            # Every series at full length, so the figure is for 550 records each
            # whatever lengths a briefly trained model would generate.
            path = synth.sample_to(os.path.join(folder, "stream.parquet"), args.stream,
                                   chunk_size=20_000, length=synth.max_sequence_len_,
                                   random_state=2)
            print(f"stream_seconds={time.perf_counter() - start:.1f}")
            print(f"stream_file_mb={os.path.getsize(path) / 2**20:.1f}")
            import pyarrow.parquet as pq

            print(f"stream_rows={pq.ParquetFile(path).metadata.num_rows}")
    print(f"peak_rss_mb={peak_rss_mb():.0f}")


def parse_params(pairs) -> dict:
    """DGSynthesizer parameters from NAME=VALUE strings, VALUE as JSON."""
    return {name: json.loads(value) for name, _, value in (p.partition("=") for p in pairs)}


def _parse(output: str) -> dict:
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([0-9.eE+-]+)$", output, re.M)}


def _run(command, env=None) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{result.stderr[-2000:]}")
    return _parse(result.stdout)


def _our_env() -> dict:
    # This checkout's dgkeras first on the path, whichever interpreter runs it.
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def ours(workload: str, epochs: int, extra=(), python: str = sys.executable) -> dict:
    return _run([python, __file__, "--worker", workload, "--epochs", str(epochs), *extra],
                env=_our_env())


def peer(workload: str, epochs: int, python: str, script: str) -> dict:
    # Run the peer script under runpy so that its peak RSS can be read the same way.
    code = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__'); "
            "print(f'peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f}')")
    return _run([python, "-c", code, script, workload, "--epochs", str(epochs)])


def peer_user(workload: str, epochs: int, python: str, script: str, extra=()) -> dict:
    return _run([python, str(ROOT / "benchmarks" / "peer_user.py"), workload, "--epochs",
                 str(epochs), "--peer-script", script, *extra])


#: (label, our figure, the peer's figure, "rate" or "seconds") of the --user table.
USER_ROWS = (
    ("fit() wall s, 1 epoch", ("fit_wall_s", 1), ("fit_wall_s", 1), "seconds"),
    ("fit() wall s, 10 epochs", ("fit_wall_s", 10), ("fit_wall_s", 10), "seconds"),
    ("fit() wall s, 100 epochs", ("fit_wall_s", 100), ("fit_wall_s", 100), "seconds"),
    ("whole-fit steps/s, 100 epochs", ("fit_steps_per_s", 100), ("fit_steps_per_s", 100),
     "rate"),
    ("first sample_arrays / generate_numpy s", ("sample_first_call_s", 100),
     ("sample_first_call_s", 100), "seconds"),
    ("first sample / generate_dataframe s", ("sample_first_call_s", "load"),
     ("sample_first_call_s", "frame"), "seconds"),
    ("warm sample_arrays / generate_numpy series/s", ("sample_arrays_series_per_s", 100),
     ("sample_series_per_s", 100), "rate"),
    ("warm sample / generate_dataframe series/s", ("sample_series_per_s", "load"),
     ("sample_series_per_s", "frame"), "rate"),
    ("steady-state train steps/s, 100 epochs", ("train_steps_per_s", 100), None, "rate"),
    ("peak RSS MB, 100-epoch fit", ("fit_peak_rss_mb", 100), ("fit_peak_rss_mb", 100),
     "seconds"),
    ("peak RSS MB, that fit + first sample_arrays", ("first_sample_peak_rss_mb", 100),
     ("first_sample_peak_rss_mb", 100), "seconds"),
    ("peak RSS MB, that process at its end", ("peak_rss_mb", 100), ("peak_rss_mb", 100),
     "seconds"),
    ("peak RSS MB, load + sample / generate_dataframe", ("peak_rss_mb", "load"),
     ("peak_rss_mb", "frame"), "seconds"),
)


def user_comparison(args: argparse.Namespace, workload: str) -> None:
    """Alternate dgkeras and the peer as a user times them; print medians and ratios.

    Per round: fit() at 1, 10 and 100 epochs with the first sampling call of each fitted
    model (ours sample_arrays, the peer's generate_numpy); the 100-epoch model saved and
    loaded in a fresh process for its first sample() (a long DataFrame), beside the
    peer's generate_dataframe after train_dataframe (10 epochs).
    """
    ours_runs, peer_runs = [], []
    options = ["--n-sample", str(args.n_sample), "--repeats", str(args.repeats),
               "--critic-steps", args.critic_steps, "--steps-per-call", str(args.steps_per_call)]
    for round_ in range(args.rounds):
        mine, theirs = {}, {}
        with tempfile.TemporaryDirectory() as folder:
            saved = os.path.join(folder, "model.dgk")
            for epochs in (1, 10, 100):
                extra = ["--save", saved] if epochs == 100 else []
                mine[epochs] = ours(workload, epochs, options + extra)
                theirs[epochs] = peer_user(workload, epochs, args.peer_python,
                                           args.peer_script, ["--n-sample", str(args.n_sample)])
                print(f"[{workload} round {round_ + 1}, {epochs} epochs] dgkeras {mine[epochs]}"
                      f"\n    peer {theirs[epochs]}", flush=True)
            mine["load"] = _run([sys.executable, __file__, "--load", saved, *options],
                                env=_our_env())
        theirs["frame"] = peer_user(workload, 10, args.peer_python, args.peer_script,
                                    ["--frame", "--n-sample", str(args.n_sample)])
        print(f"[{workload} round {round_ + 1}] dgkeras load + sample {mine['load']}\n"
              f"    peer frame {theirs['frame']}", flush=True)
        ours_runs.append(mine)
        peer_runs.append(theirs)
    print(f"\n{workload}, as a user measures it: median of {args.rounds} round(s), "
          f"critic_steps={args.critic_steps}, {args.n_sample:,} series per sampling call")
    print(f"  {'figure':<46}{'dgkeras':>10}{'peer':>10}{'speed-up':>10}")
    for label, (figure, run), peer_key, kind in USER_ROWS:
        mine_value = statistics.median(r[run][figure] for r in ours_runs)
        line = f"  {label:<46}{mine_value:>10.2f}"
        if peer_key is not None:
            their_value = statistics.median(r[peer_key[1]][peer_key[0]] for r in peer_runs)
            ratios = [(a[run][figure] / b[peer_key[1]][peer_key[0]]) if kind == "rate"
                      else (b[peer_key[1]][peer_key[0]] / a[run][figure])
                      for a, b in zip(ours_runs, peer_runs)]
            line += f"{their_value:>10.2f}{statistics.median(ratios):>9.2f}x"
        print(line)
    print("  (speed-up = the peer's seconds / ours, or our rate / the peer's: above 1 is "
          "faster; for RSS, the peer's MB / ours)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["wwt-shape", "mba", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer", action="store_true", help="alternate runs with the peer")
    parser.add_argument("--peer-python", default=os.environ.get("PEER_VENV", "/tmp/peer-venv")
                        + "/bin/python")
    parser.add_argument("--peer-script", default=str(DEFAULT_PEER_SCRIPT))
    parser.add_argument("--against", metavar="PYTHON",
                        help="alternate runs with dgkeras under this interpreter (another stack)")
    parser.add_argument("--against-param", action="append", default=[], metavar="NAME=VALUE",
                        help="alternate runs with this interpreter and these DGSynthesizer "
                             "parameters (VALUE as JSON)")
    parser.add_argument("--param", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true",
                        help="fit 50,000 x 550 x 1 and stream 1,000,000 series to parquet")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n-series", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--n-sample", type=int, default=10_000,
                        help="series per sampling call (default 10,000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="calls per warm sampling figure (their median is printed)")
    parser.add_argument("--stream", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--mixed-precision", action="store_true",
                        help="measure dgkeras with mixed_precision=True (meant for GPUs)")
    parser.add_argument("--user", action="store_true",
                        help="alternate with the peer as a user times both: whole fit() at "
                             "1, 10, 100 epochs and first sampling calls")
    parser.add_argument("--critic-steps", default="1",
                        help='dgkeras critic_steps (default 1, as the peer; "auto" is '
                             "dgkeras' default)")
    parser.add_argument("--save", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--steps-per-call", type=int, default=10,
                        help="dgkeras steps_per_call (default: 10)")
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    if args.load:
        run_load_worker(args)
        return
    if args.user:
        for workload in ["wwt-shape", "mba"] if args.workload == "all" else [args.workload]:
            user_comparison(args, workload)
        return
    if args.memory:
        fit = ours("wwt-shape", 2, ["--n-series", "50000", "--n-sample", "1000"])
        print(f"fit 50,000 x 550 x 1 (2 epochs, 1,000 steps): peak RSS "
              f"{fit['peak_rss_mb']:.0f} MB, {fit['train_steps_per_s']:.2f} steps/s")
        stream = ours("wwt-shape", 2, ["--n-sample", "1000", "--stream", "1000000"])
        print(f"stream 1,000,000 x 550 series to parquet: {stream['stream_rows']:,.0f} rows in "
              f"{stream['stream_seconds']:.0f} s, {stream['stream_file_mb']:.0f} MB file, "
              f"peak RSS {stream['peak_rss_mb']:.0f} MB")
        return
    if sum(map(bool, (args.peer, args.against, args.against_param))) > 1:
        parser.error("--peer, --against and --against-param are alternatives")
    other = ("peer" if args.peer else "other stack" if args.against
             else " ".join(args.against_param) if args.against_param else None)
    workloads = ["wwt-shape", "mba"] if args.workload == "all" else [args.workload]
    for workload in workloads:
        results = {"dgkeras": [], other: []}
        for round_ in range(args.rounds if other else 1):
            options = ["--steps-per-call", str(args.steps_per_call),
                       "--n-sample", str(args.n_sample), "--repeats", str(args.repeats)]
            if args.mixed_precision:
                options.append("--mixed-precision")
            options += ["--critic-steps", args.critic_steps]
            results["dgkeras"].append(ours(workload, args.epochs, options))
            print(f"[{workload} round {round_ + 1}] dgkeras {results['dgkeras'][-1]}", flush=True)
            if args.peer:
                results[other].append(peer(workload, args.epochs, args.peer_python,
                                           args.peer_script))
            elif args.against:
                results[other].append(ours(workload, args.epochs, options, args.against))
            elif args.against_param:
                changed = [x for p in args.against_param for x in ("--param", p)]
                results[other].append(ours(workload, args.epochs, options + changed))
            if other:
                print(f"[{workload} round {round_ + 1}] {other} {results[other][-1]}",
                      flush=True)
        print(f"\n{workload}: median over {len(results['dgkeras'])} round(s)")
        width = max(12, len(other or "") + 2)
        header = f"  {'figure':<28}{'dgkeras':>12}"
        if other:
            header += f"{other:>{width}}{'ratio':>10}"
        print(header)
        for figure in FIGURES + ("fit_steps_per_s", "sample_arrays_series_per_s",
                                 "generate_only_series_per_s", "tracing_s",
                                 "sample_first_call_s", "sample_mean_length"):
            if figure not in results["dgkeras"][0]:
                continue  # train_steps_per_s needs two epochs or more
            ours_value = statistics.median(r[figure] for r in results["dgkeras"])
            line = f"  {figure:<28}{ours_value:>12.2f}"
            theirs = PEER_FIGURE.get(figure) if args.peer else figure
            if other and theirs in results[other][0]:
                other_value = statistics.median(r[theirs] for r in results[other])
                ratios = [a[figure] / b[theirs] for a, b in zip(results["dgkeras"],
                                                                results[other])]
                line += f"{other_value:>{width}.2f}{statistics.median(ratios):>9.2f}x"
            print(line)
        if args.peer:
            print("  (peer sampling = generate_numpy: decoded numpy arrays. Ours: "
                  "sample_series_per_s = sample(), a long DataFrame; sample_arrays_series_per_s "
                  "= sample_arrays(), decoded arrays like the peer's; generate_only = the "
                  "networks without decoding)")
        if args.against:
            print(f"  (dgkeras = {sys.executable}; other stack = {args.against}; ratio = "
                  "dgkeras / other stack: above 1 is faster for rates, slower for seconds "
                  "and MB)")
        if args.against_param:
            print(f"  (ratio = dgkeras / dgkeras with {other}: above 1 is faster for rates, "
                  "slower for seconds and MB)")


if __name__ == "__main__":
    main()
