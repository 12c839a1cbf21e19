"""The ``dgkeras`` command line.

* ``dgkeras fit DATA --schema schema.json -o model.dgk`` fits a model;
* ``dgkeras sample model.dgk -n N -o out.csv`` streams synthetic series to
  CSV or parquet;
* ``dgkeras report REAL SYNTH --schema schema.json -o dir`` writes the
  fidelity report;
* ``dgkeras schema infer DATA --id COL [--time COL]`` prints an editable
  schema;
* ``dgkeras demo`` fits on the bundled FCC MBA data and writes synthetic CSV,
  the model and a fidelity report.

Exit codes: 0 success, 1 training stopped early (diverged), 2 bad input or
usage (the message says what and where), 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

DEMO_FILES = ("synthetic_fcc_mba.csv", "summary.txt", "model.dgk", "report")


def _demo(args: argparse.Namespace) -> int:
    from .datasets import load_fcc_mba
    from .report import fidelity_report
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
    figures = fidelity_report(df, fake, schema, out / DEMO_FILES[3], by="technology",
                              title=f"FCC MBA: real vs dgkeras synthetic ({args.epochs} epochs)")
    if "real_vs_real" in figures:
        report += (f"\n\ndiscriminative score {figures['discriminative_score']:.2f} "
                   f"(two halves of the real data: "
                   f"{figures['real_vs_real']['discriminative_score']:.2f}; 0 = a classifier "
                   f"cannot tell the series apart, 1 = it always can)")
    header = (f"dgkeras demo on FCC MBA: fit {fit_seconds:.0f} s, total "
              f"{time.perf_counter() - start:.0f} s, {args.epochs} epochs, "
              f"sample_len {synth.sample_len_}\n")
    (out / DEMO_FILES[1]).write_text(header + report + "\n", encoding="utf-8")
    print("\n" + header + report)
    print(f"\nwrote {csv_path}, {out / DEMO_FILES[1]}, {out / DEMO_FILES[2]} and the "
          f"fidelity report (plots, summary.md, summary.json) in {out / DEMO_FILES[3]}")
    return 0



def _load_schema(path: str):
    from .schema import Schema

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise _usage(f"schema file {path!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise _usage(f"schema file {path!r} is not valid JSON: {exc}") from None
    return Schema.from_dict(data)


def _usage(message: str):
    from .exceptions import DataError

    return DataError(message)


def _check_output(path: Path, overwrite: bool, inputs: List[str]) -> None:
    if any(Path(i).resolve() == path.resolve() for i in inputs):
        raise _usage(f"output {str(path)!r} is one of the input files; choose another name")
    if path.exists() and not overwrite:
        raise _usage(f"{str(path)!r} exists; pass --overwrite to replace it")


def _parse_params(pairs: List[str]) -> Dict[str, Any]:
    params: Dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise _usage(f"--param {pair!r}: write it as NAME=VALUE, e.g. lstm_units=200")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def _fit(args: argparse.Namespace) -> int:
    from .io import read_table
    from .synthesizer import DGSynthesizer

    schema = _load_schema(args.schema)
    output = Path(args.output)
    _check_output(output, args.overwrite, [args.data, args.schema])
    df = read_table(args.data, schema)
    params = {"epochs": args.epochs, "batch_size": args.batch_size,
              "sample_len": args.sample_len, "max_sequence_len": args.max_sequence_len,
              "epsilon": args.epsilon, "delta": args.delta, "random_state": args.seed,
              "verbose": args.verbose, "checkpoint_dir": args.checkpoint_dir,
              "checkpoint_every": args.checkpoint_every, "log_dir": args.log_dir,
              "invalid_series": args.invalid_series, "long_series": args.long_series}
    params.update(_parse_params(args.param))
    try:
        synth = DGSynthesizer(**params)
    except TypeError as exc:
        raise _usage(f"unknown hyperparameter: {exc}") from None
    start = time.perf_counter()
    synth.fit(df, schema, resume=args.resume)
    synth.save(output)
    print(f"fitted {synth.n_series_} series in {time.perf_counter() - start:.0f} s "
          f"({len(synth.history_)} epochs); wrote {output}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .io import read_table
    from .synthesizer import DGSynthesizer

    output = Path(args.output)
    inputs = [args.model] + ([args.attributes] if args.attributes else [])
    _check_output(output, args.overwrite, inputs)
    synth = DGSynthesizer.load(args.model)
    attributes = read_table(args.attributes) if args.attributes else None
    if args.n is None and attributes is None:
        raise _usage("give -n, the number of series, or --attributes")
    start = time.perf_counter()
    synth.sample_to(output, n=args.n, chunk_size=args.chunk_size, attributes=attributes,
                    length=args.length, random_state=args.seed, overwrite=args.overwrite,
                    verbose=args.verbose)
    n = args.n if args.n is not None else len(attributes)
    print(f"wrote {n} synthetic series to {output} in {time.perf_counter() - start:.1f} s")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .io import read_table
    from .report import fidelity_report

    schema = _load_schema(args.schema)
    real, synth = read_table(args.real, schema), read_table(args.synthetic, schema)
    for path, frame in ((args.real, real), (args.synthetic, synth)):
        try:
            schema.validate(frame)
        except ValueError as exc:
            raise _usage(f"{path}: {exc}") from None
    summary = fidelity_report(real, synth, schema, args.output, by=args.by)
    print(f"wrote {', '.join(summary['plots'])}, summary.json and summary.md to {args.output}")
    return 0


def _schema_infer(args: argparse.Namespace) -> int:
    from .io import read_table
    from .schema import Schema

    df = read_table(args.data)
    schema = Schema.infer(df, id_column=args.id, time_column=args.time)
    text = json.dumps(schema.to_dict(), indent=2) + "\n"
    if args.output:
        output = Path(args.output)
        _check_output(output, args.overwrite, [args.data])
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dgkeras`` command."""
    parser = argparse.ArgumentParser(
        prog="dgkeras", description="DoppelGANger synthetic time series with metadata.",
        epilog="Run 'dgkeras COMMAND --help' for each command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit", help="fit a model on a long CSV/parquet table and save it",
        description="Fit DoppelGANger on DATA (a long .csv, .csv.gz or .parquet table, one "
                    "row per record) with the column roles of a schema JSON file, and save "
                    "the model to a single file.")
    fit.add_argument("data", metavar="DATA", help="training table")
    fit.add_argument("--schema", required=True, help="schema JSON (see 'dgkeras schema infer')")
    fit.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.dgk)")
    fit.add_argument("--epochs", type=int, default=400, help="training epochs (default: 400)")
    fit.add_argument("--batch-size", type=int, default=100, help="series per step (default: 100)")
    fit.add_argument("--sample-len", type=int, default=None,
                     help="records per LSTM step (default: chosen from the series length)")
    fit.add_argument("--max-sequence-len", type=int, default=None,
                     help="longest series to generate (default: the longest training series)")
    fit.add_argument("--epsilon", type=float, default=None,
                     help="train with differential privacy at this budget")
    fit.add_argument("--delta", type=float, default=None, help="DP delta (default: 1/(10 n))")
    fit.add_argument("--seed", type=int, default=None, help="random seed")
    fit.add_argument("--invalid-series", choices=["error", "drop"], default="error",
                     help="series with a feature missing everywhere (default: error)")
    fit.add_argument("--long-series", choices=["error", "truncate", "split"], default="error",
                     help="series longer than --max-sequence-len (default: error)")
    fit.add_argument("--checkpoint-dir", default=None, help="save checkpoints to this folder")
    fit.add_argument("--checkpoint-every", type=int, default=10,
                     help="epochs between checkpoints (default: 10)")
    fit.add_argument("--resume", action="store_true",
                     help="continue from the newest checkpoint in --checkpoint-dir")
    fit.add_argument("--log-dir", default=None, help="write TensorBoard scalars to this folder")
    fit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="any other DGSynthesizer parameter, value as JSON "
                          "(e.g. --param lstm_units=200 --param 'critic_units=[300, 300]')")
    fit.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2],
                     help="0 silent, 1 progress bar, 2 a line per epoch (default: 1)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    fit.set_defaults(run=_fit)

    sample = commands.add_parser(
        "sample", help="generate synthetic series from a saved model",
        description="Stream synthetic series from a saved model to a .csv, .csv.gz or "
                    ".parquet file, written under a temporary name and renamed when complete.")
    sample.add_argument("model", metavar="MODEL", help="model file written by 'dgkeras fit'")
    sample.add_argument("-n", type=int, default=None, help="number of series")
    sample.add_argument("-o", "--output", required=True, help="output table")
    sample.add_argument("--attributes", default=None,
                        help="table with one row of attribute values per series to generate")
    sample.add_argument("--length", type=int, default=None,
                        help="force every series to this many records")
    sample.add_argument("--seed", type=int, default=None, help="random seed")
    sample.add_argument("--chunk-size", type=int, default=10_000,
                        help="series per written chunk (default: 10000)")
    sample.add_argument("--verbose", type=int, default=1, choices=[0, 1],
                        help="1 shows a progress bar over the series (default: 1)")
    sample.add_argument("--overwrite", action="store_true", help="replace an existing output")
    sample.set_defaults(run=_sample)

    report = commands.add_parser(
        "report", help="compare synthetic with real data: plots and summary",
        description="Write the fidelity report (PNG plots, summary.json, summary.md) comparing "
                    "SYNTH with REAL.")
    report.add_argument("real", metavar="REAL", help="real table")
    report.add_argument("synthetic", metavar="SYNTH", help="synthetic table")
    report.add_argument("--schema", required=True, help="schema JSON")
    report.add_argument("-o", "--output", required=True, help="report folder")
    report.add_argument("--by", default=None,
                        help="categorical attribute to break totals down by")
    report.set_defaults(run=_report)

    schema = commands.add_parser(
        "schema", help="schema tools", description="Schema tools.")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True,
                                            metavar="SUBCOMMAND")
    infer = schema_commands.add_parser(
        "infer", help="guess a schema from a table and print it as JSON",
        description="Guess column roles and kinds from DATA and print the schema as JSON to "
                    "edit and pass to 'dgkeras fit --schema'. Columns constant within every "
                    "series become attributes; numeric columns are continuous.")
    infer.add_argument("data", metavar="DATA", help="table to read")
    infer.add_argument("--id", required=True, help="series key column")
    infer.add_argument("--time", default=None, help="time column")
    infer.add_argument("-o", "--output", default=None, help="write the JSON here, not stdout")
    infer.add_argument("--overwrite", action="store_true", help="replace an existing file")
    infer.set_defaults(run=_schema_infer)

    demo = commands.add_parser(
        "demo", help="fit on the bundled FCC MBA data, write synthetic CSV and a report",
        description="Fit DoppelGANger on the bundled FCC MBA data (600 homes x 56 records), "
                    "write synthetic_fcc_mba.csv, model.dgk, summary.txt and a fidelity "
                    "report to a folder and print the real-vs-synthetic summary.")
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
    from .exceptions import DataError, TrainingDivergedError

    name = " ".join(filter(None, [args.command, getattr(args, "schema_command", None)]))
    try:
        return args.run(args)
    except (DataError, ValueError, OSError) as exc:  # OSError: missing or unreadable files
        print(f"dgkeras {name}: {exc}", file=sys.stderr)
        return 2
    except TrainingDivergedError as exc:
        print(f"dgkeras {name}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dgkeras {name}: interrupted; the output file was not written", file=sys.stderr)
        return 130
