"""How well the generator selection score tracks the benchmark figures, epoch by epoch.

One default fit per workload and seed (``keep_best_every`` at its default, so
the fit is the one ``benchmarks/fidelity.py`` measures). At every scoring the
fit makes, this script also records, for the generator as it is then:

* each distance of :func:`dgkeras.selection.selection_distances` on the series
  the score compares;
* every figure of :func:`fidelity.score` on a sample of as many series as the
  data has, against all of it.

Keeping the best generator does not change training, so one fit tells which
epoch each of these selection rules would keep and what that epoch's figures
are: ``selection score`` (the default score); ``without curves`` (the score
without the autocorrelation curves, and the lengths compared only where the
real ones vary); ``curves x2`` (the curves weighing twice as much); ``last``
(no selection). It prints the figures of the epoch each rule keeps, their mean
over seeds, and each rule's rank correlation with each figure.

    python benchmarks/selection_study.py --workload mba --seeds 3 --out mba.csv
    python benchmarks/selection_study.py --read mba.csv geant.csv

About one and a half times a default fit's time per run: the figures are
computed at each of the 41 scorings.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import fidelity  # noqa: E402

import dgkeras.synthesizer  # noqa: E402
from dgkeras import DGSynthesizer  # noqa: E402
from dgkeras.sampling import Request, Sampler  # noqa: E402
from dgkeras.selection import CURVE_SUFFIX  # noqa: E402

#: The score the fit builds, which each run wraps.
GENERATOR_SCORE = dgkeras.synthesizer.generator_score


def recording_score(workload, df, schema, seed, records):
    """A stand-in for dgkeras.synthesizer.generator_score that records each scoring."""
    def generator_score(params, encoder, data, trainer):
        scorer = GENERATOR_SCORE(params, encoder, data, trainer)
        sampler = Sampler(encoder, trainer.model, params["strategy"])
        n = df[schema.id_column].nunique()

        def score() -> float:
            distances = scorer.distances()
            row = {"lengths vary": scorer.real.lengths.min() < scorer.real.lengths.max(),
                   **{f"d {k}": v for k, v in distances.items()}}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fake = sampler.frame(Request(n, None, None, None, seed))
                row.update({f"f {k}": v for k, v in
                            fidelity.score(workload, df, fake, schema, seed).items()})
            records.append(row)
            return float(np.mean(list(distances.values())))

        return score

    return generator_score


def run(workload: str, data: pathlib.Path, seed: int, quick: bool = False) -> pd.DataFrame:
    df, schema = fidelity.LOADERS[workload](data, quick)
    records: list = []
    dgkeras.synthesizer.generator_score = recording_score(workload, df, schema, seed, records)
    options = {"epochs": 20} if quick else {}
    synth = DGSynthesizer(random_state=seed, verbose=0, **options).fit(df, schema)
    scored = synth.history_["selection_score"].dropna()
    out = pd.DataFrame(records)
    out.insert(0, "epoch", scored.index.to_numpy() + 1)
    out.insert(0, "seed", seed)
    out.insert(0, "workload", workload)
    return out


def candidate_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Each selection rule's score at each scoring (lower is better)."""
    distances = rows[[c for c in rows if c.startswith("d ")]]
    curves = distances[[c for c in distances if c.endswith(CURVE_SUFFIX)]]
    summaries = distances.drop(columns=curves.columns)
    if not rows["lengths vary"].all():
        summaries = summaries.drop(columns="d length")
    return pd.DataFrame({
        "selection score": distances.mean(axis=1),
        "without curves": summaries.mean(axis=1),
        "curves x2": pd.concat([distances, curves], axis=1).mean(axis=1),
        "last": -rows["epoch"].astype(float),
    }, index=rows.index)


def report(rows: pd.DataFrame) -> None:
    """Print, per workload, the kept epochs' figures and the scores' rank correlations."""
    pd.set_option("display.width", 250)
    for workload, workload_rows in rows.groupby("workload", sort=False):
        workload_rows = workload_rows.dropna(axis=1, how="all")
        figures = [c for c in workload_rows if c.startswith("f ") and c != "f classes missing"]
        kept, correlations = [], []
        for seed, run_rows in workload_rows.groupby("seed"):
            run_rows = run_rows.reset_index(drop=True)
            scores = candidate_scores(run_rows)
            for name in scores:
                best = run_rows.iloc[int(scores[name].to_numpy().argmin())]
                kept.append({"seed": seed, "score": name, "epoch": int(best["epoch"]),
                             **{f[2:]: best[f] for f in figures}})
            later = run_rows["epoch"] >= 100
            for name in scores.drop(columns="last"):
                correlations.append({"score": name, **{
                    f[2:]: spearmanr(scores[name][later], run_rows[f][later]).statistic
                    for f in figures}})
        kept = pd.DataFrame(kept)
        print(f"\n== {workload}: figures of the epoch each score keeps, per seed")
        print(kept.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"\n== {workload}: mean over {kept['seed'].nunique()} seeds")
        print(kept.drop(columns="seed").groupby("score", sort=False).mean()
              .to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"\n== {workload}: Spearman correlation of each score with each figure "
              "from epoch 100 on, mean over seeds (higher: the score ranks epochs as the "
              "figure does)")
        print(pd.DataFrame(correlations).groupby("score", sort=False).mean()
              .to_string(float_format=lambda v: f"{v:.2f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=list(fidelity.LOADERS), default="mba")
    parser.add_argument("--data", type=pathlib.Path, default=fidelity.DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small data, 20 epochs")
    parser.add_argument("--out", type=pathlib.Path, help="write every scoring's row here")
    parser.add_argument("--read", type=pathlib.Path, nargs="+",
                        help="report on rows written by earlier runs instead of fitting")
    args = parser.parse_args()
    if args.read:
        rows = pd.concat([pd.read_csv(p) for p in args.read], ignore_index=True)
    else:
        rows = []
        for seed in range(args.seed, args.seed + args.seeds):
            rows.append(run(args.workload, args.data, seed, args.quick))
            if args.out:  # after each run, so that a stopped study keeps what it has
                pd.concat(rows, ignore_index=True).to_csv(args.out, index=False)
        rows = pd.concat(rows, ignore_index=True)
    report(rows)


if __name__ == "__main__":
    main()
