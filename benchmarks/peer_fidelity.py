"""One peer trained at its documented defaults on a long table; run by fidelity.py in its venv.

    VENV/bin/python benchmarks/peer_fidelity.py {dgan,par,argn} --folder F --n N --seed S

Reads F/train.csv.gz and F/schema.json (dgkeras' Schema.to_dict()), trains the peer, writes
F/synthetic.csv.gz with the same columns and prints train_s (training from call to return,
generation not included). Each run function returns the synthetic table and that time.
The peers' venvs do not have dgkeras, so nothing here imports it.

* dgan: gretel-synthetics' DGAN (PyTorch), DGANConfig's defaults but for the two values it
  requires: max_sequence_len (the longest series) and sample_len (the smallest divisor of it
  that gives at most 50 LSTM steps, the guidance of the DoppelGANger paper).
* par: SDV's PARSynthesizer (sdv 2.0), the attributes as context columns.
* argn: MOSTLY AI's TabularARGN (mostlyai-engine), a flat model of the attributes, then a
  sequential model of the records with the attributes as context; categories kept as they
  are (rare_category_replacement_method="SAMPLE"). Its default training time (up to
  100 epochs, 14,400 minutes) is capped at --argn-minutes per model (default 10), which is
  the one departure from its defaults; the records get the real time grid in generated
  order.

--quick trains each for a moment (a smoke run of the plumbing).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import time

import numpy as np
import pandas as pd


def load(folder: pathlib.Path):
    schema = json.loads((folder / "schema.json").read_text())
    df = pd.read_csv(folder / "train.csv.gz")
    for column, kind in {**schema["attributes"], **schema["features"]}.items():
        if kind == "categorical":
            df[column] = df[column].astype(str)
    if schema["time_column"] is not None and df[schema["time_column"]].dtype == object:
        df[schema["time_column"]] = pd.to_datetime(df[schema["time_column"]])
    return df.sort_values([schema["id_column"], schema["time_column"]], kind="stable"), schema


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ------------------------------------------------------------------ dgan
def sample_len_for(longest: int, max_steps: int = 50) -> int:
    return next(s for s in range(1, longest + 1) if longest % s == 0 and longest // s <= max_steps)


def run_dgan(df: pd.DataFrame, schema: dict, n: int, quick: bool):
    from gretel_synthetics.timeseries_dgan.config import DGANConfig, OutputType
    from gretel_synthetics.timeseries_dgan.dgan import DGAN

    key, time_column = schema["id_column"], schema["time_column"]
    groups = [g for _, g in df.groupby(key, sort=True)]
    levels = {c: sorted(df[c].unique()) for c, k in
              {**schema["attributes"], **schema["features"]}.items() if k == "categorical"}

    def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
        if column in levels:
            return pd.Categorical(frame[column], categories=levels[column]).codes.astype(float)
        return frame[column].to_numpy(float)

    attributes = list(schema["attributes"])
    features = list(schema["features"])
    attribute_array = np.array([[numeric(g.iloc[:1], c)[0] for c in attributes]
                                for g in groups]) if attributes else None
    series = [np.stack([numeric(g, c) for c in features], axis=1) for g in groups]
    lengths = {len(s) for s in series}
    longest = max(lengths)
    kinds = {True: OutputType.DISCRETE, False: OutputType.CONTINUOUS}
    config = DGANConfig(max_sequence_len=longest, sample_len=sample_len_for(longest),
                        **({"epochs": 2} if quick else {}))
    model = DGAN(config)
    start = time.perf_counter()
    model.train_numpy(features=series if len(lengths) > 1 else np.stack(series),
                      attributes=attribute_array,
                      attribute_types=[kinds[c in levels] for c in attributes] or None,
                      feature_types=[kinds[c in levels] for c in features])
    seconds = time.perf_counter() - start
    fake_attributes, fake_series = model.generate_numpy(n)
    times = groups[int(np.argmax([len(g) for g in groups]))][time_column].to_numpy()
    frames = []
    for i, records in enumerate(fake_series):
        records = np.asarray(records)
        frame = pd.DataFrame({key: i, time_column: times[:len(records)]})
        for j, column in enumerate(attributes):
            frame[column] = _decoded(fake_attributes[i, j], column, levels)
        for j, column in enumerate(features):
            frame[column] = _decoded(records[:, j], column, levels)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), seconds


def _decoded(values, column: str, levels: dict):
    if column not in levels:
        return values
    codes = np.clip(np.rint(np.asarray(values, float)).astype(int), 0, len(levels[column]) - 1)
    return np.asarray(levels[column], dtype=object)[codes]


# ------------------------------------------------------------------- par
def run_par(df: pd.DataFrame, schema: dict, n: int, quick: bool):
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    key, time_column = schema["id_column"], schema["time_column"]
    columns = {key: {"sdtype": "id"}}
    if time_column is not None:
        columns[time_column] = ({"sdtype": "datetime", "datetime_format": "%Y-%m-%d %H:%M:%S"}
                                if pd.api.types.is_datetime64_any_dtype(df[time_column])
                                else {"sdtype": "numerical"})
    for column, kind in {**schema["attributes"], **schema["features"]}.items():
        columns[column] = {"sdtype": "categorical" if kind == "categorical" else "numerical"}
    metadata = Metadata.load_from_dict({"tables": {"table": {
        "sequence_key": key, "sequence_index": time_column, "columns": columns}}})
    model = PARSynthesizer(metadata, context_columns=list(schema["attributes"]),
                           **({"epochs": 1} if quick else {}))
    start = time.perf_counter()
    model.fit({"table": df[list(columns)]})
    seconds = time.perf_counter() - start
    return model.sample_sequences(num_sequences=n)["table"], seconds


# ------------------------------------------------------------------ argn
def _argn_model(folder: pathlib.Path, minutes: float, quick: bool, **split) -> None:
    """Split, analyse, encode and train one TabularARGN model in ``folder``."""
    from mostlyai import engine

    engine.split(workspace_dir=folder, model_type="TABULAR", **split)
    engine.analyze(workspace_dir=folder)
    engine.encode(workspace_dir=folder)
    engine.train(workspace_dir=folder, max_training_time=minutes,
                 **({"max_epochs": 1} if quick else {}))


def run_argn(df: pd.DataFrame, schema: dict, n: int, quick: bool, minutes: float,
             workspace: pathlib.Path):
    from mostlyai import engine

    key, time_column = schema["id_column"], schema["time_column"]
    attributes, features = list(schema["attributes"]), list(schema["features"])
    context = df.groupby(key, sort=True)[attributes].first().reset_index()
    start = time.perf_counter()
    _argn_model(workspace / "attributes", minutes, quick, tgt_data=context,
                tgt_primary_key=key)
    _argn_model(workspace / "records", minutes, quick, tgt_data=df[[key, *features]],
                ctx_data=context, ctx_primary_key=key, tgt_context_key=key)
    seconds = time.perf_counter() - start
    engine.generate(workspace_dir=workspace / "attributes", sample_size=n,
                    rare_category_replacement_method="SAMPLE")
    fake_context = pd.read_parquet(workspace / "attributes" / "SyntheticData")
    engine.generate(workspace_dir=workspace / "records", ctx_data=fake_context,
                    rare_category_replacement_method="SAMPLE")
    records = pd.read_parquet(workspace / "records" / "SyntheticData")
    fake = records.merge(fake_context, on=key, how="left", sort=False)
    # Records in generated order on the real time grid (the grid of the longest series).
    grid = df[df[key] == df.groupby(key).size().idxmax()][time_column].to_numpy()
    fake[time_column] = grid[np.minimum(fake.groupby(key, sort=False).cumcount(),
                                        len(grid) - 1)]
    return fake, seconds


RUNS = {"dgan": run_dgan, "par": run_par, "argn": run_argn}  # argn takes two more arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=RUNS)
    parser.add_argument("--folder", type=pathlib.Path, required=True)
    parser.add_argument("--n", type=int, required=True, help="series to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--argn-minutes", type=float, default=10.0,
                        help="TabularARGN's max_training_time per model (its default is "
                             "14,400 minutes with at most 100 epochs)")
    args = parser.parse_args()
    df, schema = load(args.folder)
    seed_everything(args.seed)
    if args.peer == "argn":
        from mostlyai import engine

        engine.set_random_state(args.seed)
        fake, seconds = run_argn(df, schema, args.n, args.quick,
                                 0.2 if args.quick else args.argn_minutes,
                                 args.folder / "argn")
    else:
        fake, seconds = RUNS[args.peer](df, schema, args.n, args.quick)
    print(f"train_s={seconds:.1f}")
    columns = [c for c in [schema["id_column"], schema["time_column"], *schema["attributes"],
                           *schema["features"]] if c is not None]
    fake[columns].to_csv(args.folder / "synthetic.csv.gz", index=False)


if __name__ == "__main__":
    main()
