"""The ``dgkeras`` command line.

``dgkeras demo`` fits DoppelGANger on the bundled FCC MBA data, writes
synthetic data as CSV, the model file and a real-vs-synthetic summary.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

DEMO_FILES = ("synthetic_fcc_mba.csv", "summary.txt", "model.dgk")


def _demo(args: argparse.Namespace) -> int:
    from .datasets import load_fcc_mba
    from .summary import summarize
    from .synthesizer import DGSynthesizer

    out = Path(args.output)
    existing = [out / name for name in DEMO_FILES if (out / name).exists()]
    if existing and not args.overwrite:
        print(f"dgkeras demo: {existing[0]} exists; pass --overwrite to replace the demo's "
              "outputs, or choose another folder with -o", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    df, schema = load_fcc_mba()
    print(f"FCC MBA: {df[schema.id_column].nunique()} homes x "
          f"{len(df) // df[schema.id_column].nunique()} records; fitting {args.epochs} epochs "
          "on CPU/GPU as available ...", flush=True)
    synth = DGSynthesizer(epochs=args.epochs, sample_len=args.sample_len,
                          random_state=args.seed, verbose=1)
    synth.fit(df, schema)
    fit_seconds = time.perf_counter() - start
    fake = synth.sample(args.n or df[schema.id_column].nunique(), random_state=args.seed)
    csv_path = out / DEMO_FILES[0]
    tmp = csv_path.with_suffix(".csv.tmp")
    fake.to_csv(tmp, index=False)
    os.replace(tmp, csv_path)
    synth.save(out / DEMO_FILES[2])
    report = summarize(df, fake, schema, group_by="technology")
    header = (f"dgkeras demo on FCC MBA: fit {fit_seconds:.0f} s, total "
              f"{time.perf_counter() - start:.0f} s, {args.epochs} epochs, "
              f"sample_len {synth.sample_len_}\n")
    (out / DEMO_FILES[1]).write_text(header + report + "\n", encoding="utf-8")
    print("\n" + header + report)
    print(f"\nwrote {csv_path}, {out / DEMO_FILES[1]}, {out / DEMO_FILES[2]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dgkeras`` command."""
    parser = argparse.ArgumentParser(
        prog="dgkeras", description="DoppelGANger synthetic time series with metadata.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit on the bundled FCC MBA data, write synthetic CSV and a summary",
        description="Fit DoppelGANger on the bundled FCC MBA data (600 homes x 56 records), "
                    "write synthetic_fcc_mba.csv, model.dgk and summary.txt to a folder "
                    "and print the real-vs-synthetic summary.")
    demo.add_argument("-o", "--output", default="dgkeras-demo",
                      help="output folder (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=400, help="training epochs (default: 400)")
    demo.add_argument("--sample-len", type=int, default=None,
                      help="records per LSTM step (default: chosen from the series length)")
    demo.add_argument("-n", type=int, default=None,
                      help="synthetic series to write (default: as many as real homes)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--overwrite", action="store_true",
                      help="replace the demo's earlier outputs in the folder")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.
    """
    # TensorFlow's C++ start-up chatter hides the output a shell user reads.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    from .exceptions import DataError

    try:
        return args.run(args)
    except DataError as exc:
        print(f"dgkeras {args.command}: {exc}", file=sys.stderr)
        return 2
