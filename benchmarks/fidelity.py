"""Fidelity of dgkeras beside the DoppelGANger paper's baselines and the systems a user
would pick instead, on three real datasets, every model at its defaults.

Usage::

    bash benchmarks/setup_fidelity_peers.sh  # the peers' venvs (gretel DGAN, SDV PAR, TabularARGN)
    python benchmarks/fidelity.py            # the full run: 5 seeds, all workloads (many hours)
    python benchmarks/fidelity.py --quick    # a smoke run of every model on small data
    python benchmarks/fidelity.py --workload mba --seeds 2 --out mba.csv
    python benchmarks/fidelity.py --log runs.jsonl  # the full run, resumable: run it again
                                                    # after a stop and it goes on from there
    python benchmarks/fidelity.py --log runs.jsonl --rst tables.rst  # docs/fidelity.rst's tables
    python benchmarks/fidelity.py --workload geant --models dgkeras --seeds 1 --giveaways 5

Models: dgkeras at its defaults; the paper's baselines (benchmarks/baselines.py: AR, RNN,
naive GAN); gretel-synthetics' DGAN, SDV's PARSynthesizer and MOSTLY AI's TabularARGN, each
in its own venv driven by benchmarks/peer_fidelity.py (left out, with a note, when its venv
is missing); and "real vs real", the figures between two random halves of the real series
(dgkeras.metrics.split_series), the floor that sampling noise alone gives. Settings that
suit some data (VARIANTS below) run only when named in --models. The summary gives each
figure's mean and standard deviation over the seeds.

Every model is trained on the same training series and scored against them
with :mod:`dgkeras.metrics` (lower is better everywhere). On every workload: the
autocorrelation MSE, the mean attribute JSD, W1 of series lengths, the discriminative
score (a classifier telling real from synthetic series, 0 = indistinguishable) and the
predictive score (train on synthetic, forecast the real series' last records: MAE);
where SDMetrics is installed (the ``[sdmetrics]`` extra), its sequential scores as
Kolmogorov-Smirnov statistics (1 - SDMetrics' score): of the lengths, of per-series
statistics (mean over features and statistics) and of changes between records.
Besides:

* ``mba`` (FCC MBA, 600 homes x 56 records, the paper's Table 2): W1 of each
  home's total traffic for DSL and for cable homes, on the data's own [0, 1]
  scale summed over the 56 records (the paper does not state its scale; its
  DoppelGANger reaches 0.68 / 0.74); technology JSD.
* ``plaid`` (PLAID appliance currents, lengths 100..1344 by appliance class):
  W1 of series length per appliance class (mean over classes).
* ``geant`` (GEANT backbone OD traffic, 454 pairs x 322 steps, volumes over
  orders of magnitude): W1 of (max+min)/2 in Mbps and of its log10, across OD
  pairs; source JSD. Benchmark only: GEANT is not shipped.

Besides dgkeras at its defaults, settings the docs advise for some data run
where they apply: "dgkeras log" models GEANT's Mbps on a log scale
(``log_columns=["mbps"]``); "dgkeras minmax log" generates each series'
midrange and span on a log scale (``minmax_scale="log"``) on MBA and GEANT;
"dgkeras packing 2" trains PLAID with critics that judge two series at once
(``packing=2``), for its small appliance classes; "dgkeras minmax log_min ema"
generates MBA's per-series minimum and span on a log scale
(``minmax_scale="log_min"``) and samples with a moving average of the
generators' weights over the epochs (``ema_decay=0.99``); "dgkeras minmax
log_min" generates GEANT's per-pair minimum and span on a log scale; "dgkeras
marginal 0" trains without the pull of the generated attribute value shares towards
the training frequencies (``marginal_weight=0``; the default "auto" is 1.0 on all
three workloads, which all have a categorical attribute).

Data comes from ``--data`` (default ``../shared/data`` beside the checkout).

``--log FILE`` keeps every run's figures in a JSON-lines file as soon as the run ends; a
later call with the same file takes each run it already holds (same workload, model,
seed and settings: ``--quick`` and ``--dgkeras-param``) from there instead of running it
again, so that the full run of many hours can be stopped and taken up again. Each line
records the dgkeras version and the checkout's commit it ran on, and the summary names
them. After a change to dgkeras, ``--rerun dgkeras`` runs its models again and keeps the
logged peers, baselines and floor.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy.stats import wasserstein_distance  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from baselines import AR, RNN, NaiveGAN  # noqa: E402

from dgkeras import DGSynthesizer, Schema, __version__  # noqa: E402
from dgkeras.datasets import load_fcc_mba  # noqa: E402
from dgkeras.io import read_sktime_ts  # noqa: E402
from dgkeras.metrics import (  # noqa: E402
    attribute_jsd,
    autocorrelation_mse,
    discriminative_score,
    predictive_score,
    sdmetrics_installed,
    sdmetrics_scores,
    series_statistics,
    split_series,
    statistic_w1,
    summary_giveaways,
)

DEFAULT_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"

#: Epochs per workload: (dgkeras, AR and RNN, naive GAN), full and quick.
EPOCHS = {
    "mba": {"full": (400, 200, 400), "quick": (5, 2, 5)},
    "plaid": {"full": (400, 30, 400), "quick": (3, 1, 3)},
    "geant": {"full": (400, 100, 400), "quick": (3, 1, 3)},
}
#: dgkeras settings besides the paper's defaults (none: the defaults are what is measured).
DGKERAS_PARAMS: dict = {}
#: dgkeras settings that suit some data, as extra models, each run only on the
#: workloads it lists: log scales for values that span orders of magnitude
#: (MBA, GEANT), packed critics for a label with small classes (PLAID), the
#: log-scaled minimum, with averaged generator weights on MBA, and the fit
#: without the pull towards the attribute value shares that "auto" turns on.
VARIANTS = {
    "dgkeras log": {"geant": {"log_columns": ["mbps"]}},
    "dgkeras minmax log": {"mba": {"minmax_scale": "log"}, "geant": {"minmax_scale": "log"}},
    "dgkeras packing 2": {"plaid": {"packing": 2}},
    "dgkeras minmax log_min ema": {"mba": {"minmax_scale": "log_min", "ema_decay": 0.99}},
    "dgkeras minmax log_min": {"geant": {"minmax_scale": "log_min"}},
    "dgkeras marginal 0": {w: {"marginal_weight": 0.0} for w in ("mba", "plaid", "geant")},
}
#: The systems a user would pick instead, each run by peer_fidelity.py in its own venv
#: (benchmarks/setup_fidelity_peers.sh): name -> (peer_fidelity.py's name, default venv).
PEERS = {
    "gretel DGAN": ("dgan", "/tmp/peer-venv"),
    "SDV PAR": ("par", "/tmp/sdv-venv"),
    "TabularARGN": ("argn", "/tmp/argn-venv"),
}
#: The figures between two random halves of the real series: what sampling noise gives.
FLOOR = "real vs real"
#: What a run without --models measures: every model at its defaults, and the floor.
DEFAULT_MODELS = ("dgkeras", "AR", "RNN", "naive GAN", *PEERS, FLOOR)
MODELS = (*DEFAULT_MODELS, *VARIANTS)


# ------------------------------------------------------------------ data
def load_mba(data: pathlib.Path, quick: bool):
    df, schema = load_fcc_mba()
    if quick:
        df = df[df["home_id"] < 150]
    return df, schema


def load_plaid(data: pathlib.Path, quick: bool):
    df, schema = read_sktime_ts(data / "plaid" / "PLAID_TRAIN.ts",
                                max_series=120 if quick else None)
    return df, schema


def load_geant(data: pathlib.Path, quick: bool):
    raw = pd.read_csv(data / "geant" / "geant.csv.gz")
    raw["time"] = pd.to_datetime(raw["time"], format="%Y%m%d-%H%M")
    pairs = raw[["src", "dst"]].drop_duplicates().reset_index(drop=True)
    if quick:
        pairs = pairs.iloc[:80]
    times = np.sort(raw["time"].unique())
    # Zero entries are omitted in the file: every pair gets every step, missing as 0.
    grid = pairs.merge(pd.DataFrame({"time": times}), how="cross")
    df = grid.merge(raw, on=["src", "dst", "time"], how="left").fillna({"mbps": 0.0})
    df.insert(0, "pair", df["src"] + "->" + df["dst"])
    schema = Schema("pair", "time", {"src": "categorical", "dst": "categorical"},
                    {"mbps": "continuous"})
    return df, schema


LOADERS = {"mba": load_mba, "plaid": load_plaid, "geant": load_geant}


# --------------------------------------------------------------- metrics
def score(workload: str, real: pd.DataFrame, fake: pd.DataFrame, schema: Schema,
          seed: int = 0) -> dict:
    """Every figure of the table for one synthetic set (lower is better everywhere)."""
    acf = autocorrelation_mse(real, fake, schema)
    jsd = attribute_jsd(real, fake, schema)
    out = {"autocorr MSE": float(np.mean(list(acf.values()))),
           "JSD attributes": float(np.mean(list(jsd.values()))),
           "W1 length": statistic_w1(real, fake, schema, "length")["all"],
           "discriminative": discriminative_score(real, fake, schema, random_state=seed),
           "predictive": predictive_score(fake, real, schema, random_state=seed)}
    if sdmetrics_installed():
        # As KS statistics (1 - SDMetrics' score), so that lower is better here too.
        ks = {k: 1.0 - v for k, v in sdmetrics_scores(real, fake, schema).items()}
        out["KS length (SDMetrics)"] = ks.pop("sequence_length_similarity")
        out["KS statistics (SDMetrics)"] = float(np.mean(
            [v for k, v in ks.items() if " statistic_msas " in k]))
        out["KS changes (SDMetrics)"] = float(np.mean(
            [v for k, v in ks.items() if k.endswith(" inter_row_msas")]))
    if workload == "mba":
        w1 = statistic_w1(real, fake, schema, "traffic_byte_counter total", by="technology")
        out["W1 total DSL"] = w1["DSL"]
        out["W1 total Cable"] = w1["Cable"]
        out["JSD technology"] = attribute_jsd(real, fake, schema)["technology"]
    elif workload == "plaid":
        label = next(iter(schema.attributes))
        by_class = statistic_w1(real, fake, schema, "length", by=label)
        # A class the model never generates counts as the worst case: its real
        # lengths against an empty sample are undefined, so report how many.
        missing = sum(np.isnan(v) for v in by_class.values())
        out["W1 length per class"] = float(np.nanmean(list(by_class.values())))
        out["classes missing"] = int(missing)
    else:
        a, b = series_statistics(real, schema), series_statistics(fake, schema)
        out["W1 midrange Mbps"] = statistic_w1(real, fake, schema, "mbps midrange")["all"]
        # A rate below 0 is invalid: it counts as 0 here rather than making the
        # logarithm (and the figure) undefined.
        out["W1 log10 midrange"] = float(wasserstein_distance(
            np.log10(1 + a["mbps midrange"].clip(lower=0)),
            np.log10(1 + b["mbps midrange"].clip(lower=0))))
        out["JSD src"] = jsd["src"]
    return out


# ---------------------------------------------------------------- models
def run_dgkeras(df, schema, seed, **params):
    synth = DGSynthesizer(random_state=seed, verbose=0, **{**DGKERAS_PARAMS, **params})
    start = time.perf_counter()
    synth.fit(df, schema)
    seconds = time.perf_counter() - start
    if "selection_score" in synth.history_:
        scores = synth.history_["selection_score"]
        print(f"  kept the generator of epoch {scores.idxmin() + 1} of {len(scores)} "
              f"(selection score {scores.min():.4f}, last {scores.iloc[-1]:.4f})", flush=True)
    return synth.sample(df[schema.id_column].nunique(), random_state=seed), seconds


def run_baseline(cls, df, schema, epochs, seed):
    start = time.perf_counter()
    model = cls(epochs=epochs, seed=seed).fit(df, schema)
    seconds = time.perf_counter() - start
    return model.sample(df[schema.id_column].nunique(), seed=seed), seconds


def run_peer(name: str, venv: str, df: pd.DataFrame, schema: Schema, seed: int,
             quick: bool):
    """Train a peer at its defaults in its own venv (peer_fidelity.py) and read its sample."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        df.to_csv(folder / "train.csv.gz", index=False)
        (folder / "schema.json").write_text(json.dumps(schema.to_dict()))
        command = [str(pathlib.Path(venv) / "bin" / "python"),
                   str(pathlib.Path(__file__).parent / "peer_fidelity.py"), name,
                   "--folder", str(folder), "--seed", str(seed),
                   "--n", str(df[schema.id_column].nunique()), *(["--quick"] if quick else [])]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
        seconds = float(re.search(r"^train_s=([0-9.]+)$", result.stdout, re.M).group(1))
        fake = pd.read_csv(folder / "synthetic.csv.gz")
    # Back to the training dtypes, so that the same code scores every model.
    for column in fake.columns:
        if pd.api.types.is_datetime64_any_dtype(df[column]):
            fake[column] = pd.to_datetime(fake[column])
        elif not pd.api.types.is_numeric_dtype(df[column]):
            fake[column] = fake[column].astype(str)
    return fake, seconds


# ------------------------------------------------------------ the run log
class RunLog:
    """Every run's figures in a JSON-lines file, read back instead of running again.

    Parameters
    ----------
    path : pathlib.Path or None
        The file; ``None`` keeps nothing (every run runs).
    settings : dict
        What besides workload, model and seed decides a run's figures; a logged run is
        reused only under the same settings.
    rerun : collection of str
        Models whose logged runs are not reused: they run again, and the new rows
        replace the old ones (later lines of the file win).
    """

    def __init__(self, path: pathlib.Path | None, settings: dict, rerun=()) -> None:
        self.path = path
        self.settings = json.dumps(settings, sort_keys=True)
        self.revision = f"{__version__} {_commit()}".strip()
        self._rows: dict[tuple, dict] = {}
        # A row cut short ends without a newline: the next row starts on a line of its own.
        self._cut_short = False
        if path is not None and path.exists():
            text = path.read_text()
            self._cut_short = bool(text) and not text.endswith("\n")
            for number, line in enumerate(text.splitlines(), 1):
                try:
                    logged = json.loads(line)
                except json.JSONDecodeError:  # cut short by a kill in mid-write
                    print(f"  {path} line {number} is not a whole run's row; its run runs "
                          "again", flush=True)
                    continue
                row = {k: float("nan") if v is None else v for k, v in logged.items()}
                if row.pop("settings") == self.settings and row["model"] not in rerun:
                    self._rows[(row["workload"], row["model"], row["seed"])] = row

    def get(self, workload: str, model: str, seed: int) -> dict | None:
        """The logged row of this run under these settings, or ``None``."""
        return self._rows.get((workload, model, seed))

    def add(self, row: dict) -> dict:
        """Log one new run's row (with the revision it ran on) and return it."""
        row = {**row, "revision": self.revision}
        self._rows[(row["workload"], row["model"], row["seed"])] = row
        if self.path is not None:
            with self.path.open("a") as f:
                if self._cut_short:
                    f.write("\n")
                    self._cut_short = False
                # NaN as null: the file stays JSON that other tools read.
                clean = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                         for k, v in row.items()}
                f.write(json.dumps({**clean, "settings": self.settings}) + "\n")
        return row


def _commit() -> str:
    """The commit of the checkout this script runs from, or "" outside one."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=pathlib.Path(__file__).parent,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def run_workload(workload: str, data: pathlib.Path, quick: bool, seeds, models=DEFAULT_MODELS,
                 peer_venvs=None, giveaways: int = 0,
                 log: RunLog | None = None) -> pd.DataFrame:
    df, schema = LOADERS[workload](data, quick)
    n = df[schema.id_column].nunique()
    longest = df.groupby(schema.id_column).size().max()
    print(f"\n== {workload}: {n} series, up to {longest} records", flush=True)
    dg_epochs, ar_epochs, gan_epochs = EPOCHS[workload]["quick" if quick else "full"]
    # dgkeras at its defaults: the default epochs too, unless quick.
    dg_options = {"epochs": dg_epochs} if quick else {}
    venvs = {**{name: venv for name, (_, venv) in PEERS.items()}, **(peer_venvs or {})}
    log = log or RunLog(None, {})
    rows = []
    for seed in seeds:
        runs = {"dgkeras": functools.partial(run_dgkeras, df, schema, seed=seed, **dg_options)}
        for variant, settings in VARIANTS.items():
            if workload in settings:
                runs[variant] = functools.partial(run_dgkeras, df, schema, seed=seed,
                                                  **dg_options, **settings[workload])
        for model, cls, epochs in (("AR", AR, ar_epochs), ("RNN", RNN, ar_epochs),
                                   ("naive GAN", NaiveGAN, gan_epochs)):
            runs[model] = functools.partial(run_baseline, cls, df, schema, epochs, seed)
        for peer, (name, _) in PEERS.items():
            runs[peer] = functools.partial(run_peer, name, venvs[peer], df, schema, seed, quick)
        for model, run in runs.items():
            if model not in models:
                continue
            if _take_logged(rows, log, workload, model, seed):
                continue
            if model in PEERS and not (pathlib.Path(venvs[model]) / "bin" / "python").exists():
                print(f"  {model}: no venv at {venvs[model]} "
                      f"(bash benchmarks/setup_fidelity_peers.sh); left out", flush=True)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fake, seconds = run()
            _record(rows, log, workload, model, seed, score(workload, df, fake, schema, seed),
                    seconds)
            if giveaways:
                table = summary_giveaways(df, fake, schema, random_state=seed)
                print(table.head(giveaways).to_string(float_format="{:.4g}".format),
                      flush=True)
        if FLOOR in models and not _take_logged(rows, log, workload, FLOOR, seed):
            first, second = split_series(df, schema, random_state=seed)
            _record(rows, log, workload, FLOOR, seed,
                    score(workload, first, second, schema, seed), float("nan"))
    return pd.DataFrame(rows)


def _take_logged(rows: list, log: RunLog, workload: str, model: str, seed: int) -> bool:
    """Add the logged row of this run to ``rows`` and show it; False when none is logged."""
    logged = log.get(workload, model, seed)
    if logged is not None:
        _show(logged, "from the log")
        rows.append(logged)
    return logged is not None


def _record(rows: list, log: RunLog, workload: str, model: str, seed: int, figures: dict,
            seconds: float) -> None:
    row = log.add({"workload": workload, "model": model, "seed": seed, **figures,
                   "train s": seconds})
    rows.append(row)
    _show(row)


def _show(row: dict, note: str = "") -> None:
    shown = {k: v for k, v in row.items() if k != "revision"}
    line = "  " + "  ".join(f"{k} {_fmt(v)}" for k, v in shown.items())
    print(line + (f"  ({note}, {row['revision']})" if note else ""), flush=True)


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (standard deviation) over seeds of every figure, per model."""
    figures = [c for c in rows.columns if c not in ("workload", "model", "seed", "revision")]
    grouped = rows.groupby("model", sort=False)[figures]
    mean, spread = grouped.mean(), grouped.std(ddof=0)
    seeds = grouped.size()
    table = pd.DataFrame({"seeds": seeds}, index=mean.index)
    for column in figures:
        table[column] = [f"{m:.4g} ± {s:.2g}" if k > 1 and np.isfinite(s) else f"{m:.4g}"
                         for m, s, k in zip(mean[column], spread[column], seeds)]
    return table


def rst_table(title: str, table: pd.DataFrame) -> str:
    """``summary_table``'s table as a reStructuredText list-table, for the docs."""
    header = ["model", *table.columns]
    body = [[model, *values] for model, values in zip(table.index, table.to_numpy())]
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *body]:
        # An undefined figure (the floor's training time) shows as "n/a" (a lone "-"
        # would be an empty bullet list).
        cells = ["n/a" if str(cell) == "nan" else str(cell) for cell in row]
        lines.append(f"   * - {cells[0]}")
        lines.extend(f"     - {cell}" for cell in cells[1:])
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main() -> None:
    tf.get_logger().setLevel("ERROR")  # Keras' retracing notes for each new baseline
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=[*LOADERS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per model, from --seed on (default 5; 1 with --quick)")
    parser.add_argument("--out", type=pathlib.Path, help="write every run's figures to this CSV")
    parser.add_argument("--rst", type=pathlib.Path, metavar="FILE",
                        help="write the summary tables to this file as reStructuredText")
    parser.add_argument("--log", type=pathlib.Path, metavar="FILE",
                        help="keep every run's figures in this JSON-lines file as it ends, and "
                        "take the runs it holds under the same settings from it")
    parser.add_argument("--rerun", nargs="+", default=[], choices=MODELS, metavar="MODEL",
                        help="with --log: run these models again, replacing their logged runs")
    for peer, (name, venv) in PEERS.items():
        parser.add_argument(f"--{name}-venv", default=venv, help=f"{peer}'s venv")
    parser.add_argument("--dgkeras-param", action="append", default=[], metavar="NAME=VALUE",
                        help="a DGSynthesizer parameter for the dgkeras runs, value as JSON")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(DEFAULT_MODELS),
                        metavar="MODEL", help=f"models to run, of {MODELS} (default: "
                        f"{DEFAULT_MODELS})")
    parser.add_argument("--giveaways", type=int, default=0, metavar="N",
                        help="after each run, print the N per-series summaries that tell its "
                        "series from the real ones most (dgkeras.metrics.summary_giveaways)")
    args = parser.parse_args()
    for pair in args.dgkeras_param:
        name, _, value = pair.partition("=")
        DGKERAS_PARAMS[name] = json.loads(value)
    workloads = list(LOADERS) if args.workload == "all" else [args.workload]
    seeds = range(args.seed, args.seed + (args.seeds or (1 if args.quick else 5)))
    venvs = {peer: getattr(args, f"{name}_venv") for peer, (name, _) in PEERS.items()}
    log = RunLog(args.log, {"quick": args.quick, "dgkeras": DGKERAS_PARAMS}, args.rerun)
    start = time.perf_counter()
    tables = [run_workload(w, args.data, args.quick, seeds, args.models, venvs,
                           args.giveaways, log) for w in workloads]
    print(f"\nall workloads: {time.perf_counter() - start:.0f} s wall")
    if args.out:
        pd.concat(tables, ignore_index=True).to_csv(args.out, index=False)
    rst = []
    for workload, table in zip(workloads, tables):
        title = (f"{workload.upper()}: mean ± standard deviation over {len(seeds)} "
                 f"seed{'s' * (len(seeds) != 1)}")
        summary = summary_table(table)
        print(f"\n{title}")
        print(summary.to_string())
        if "revision" in table:
            print("ran on: " + ", ".join(sorted(set(table["revision"].dropna()))))
        rst.append(rst_table(title, summary))
    if args.rst:
        args.rst.write_text("\n".join(rst))


if __name__ == "__main__":
    main()
