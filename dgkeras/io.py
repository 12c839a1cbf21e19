"""Readers that turn other time-series layouts into a long DataFrame + Schema.

* :func:`from_wide`: one row per series, one column per step.
* :func:`from_doppelganger_npz`: the original DoppelGANger ``data_train.npz``
  format, with its ``data_*_output.pkl`` specs read by a restricted
  unpickler that builds nothing but plain values.
* :func:`read_sktime_ts`: sktime/UEA ``.ts`` files (e.g. PLAID), one series
  per line with a class label.

None of them modifies the files or frames they are given. :func:`write_chunks`
goes the other way: generated chunks to one CSV or parquet file.
"""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .exceptions import DataError, series_label
from .schema import Schema, infer_kind


# ------------------------------------------------------------------- wide
def from_wide(
    df: pd.DataFrame,
    id_column: Optional[str] = None,
    attribute_columns: Sequence[str] = (),
    value_name: str = "value",
    time_name: str = "step",
    attribute_kinds: Optional[Dict[str, str]] = None,
) -> Tuple[pd.DataFrame, Schema]:
    """Read wide data: one row per series, one column per step.

    Trailing missing values end a series early (variable lengths).

    Parameters
    ----------
    df : pandas.DataFrame
        Wide data.
    id_column : str, optional
        Series key column; default: the row position, in a new ``series``
        column.
    attribute_columns : sequence of str
        Per-series metadata columns. Every other column is a step.
    value_name, time_name : str
        Names of the feature and time columns of the long result.
    attribute_kinds : dict, optional
        Kinds of the attribute columns; inferred from dtypes by default.

    Returns
    -------
    long_df : pandas.DataFrame
    schema : Schema
    """
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise DataError("from_wide needs a non-empty pandas DataFrame")
    missing = [c for c in [id_column, *attribute_columns] if c is not None and c not in df]
    if missing:
        raise DataError(f"from_wide: columns {missing} are not in the DataFrame")
    frame = df.copy()
    if id_column is None:
        id_column = "series"
        frame.insert(0, id_column, np.arange(len(frame)))
    steps = [c for c in frame.columns if c != id_column and c not in set(attribute_columns)]
    if not steps:
        raise DataError("from_wide: no step columns left after the id and attribute columns")
    values = frame[steps].apply(pd.to_numeric, errors="coerce")
    keep = _observed_steps(values, frame[id_column])
    rows, cols = np.nonzero(keep)
    long = pd.DataFrame({id_column: frame[id_column].to_numpy()[rows]})
    long[time_name] = np.asarray(steps, dtype=object)[cols]
    if all(isinstance(s, (int, np.integer)) for s in steps):
        long[time_name] = long[time_name].astype(np.int64)
    for column in attribute_columns:
        long[column] = frame[column].iloc[rows].to_numpy()
        long[column] = long[column].astype(frame[column].dtype)
    long[value_name] = values.to_numpy(dtype=np.float64)[rows, cols]
    kinds = dict(attribute_kinds or {})
    attributes = {c: kinds.get(c, infer_kind(frame[c])) for c in attribute_columns}
    schema = Schema(id_column, time_name, attributes, {value_name: "continuous"})
    return long, schema


def _observed_steps(values: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Which steps of each wide row are records: up to its last observed value.

    Missing steps after it are not records; missing steps before it are gaps.
    """
    observed = values.notna().to_numpy()
    last = np.where(observed.any(axis=1), observed.shape[1] - 1 - observed[:, ::-1].argmax(axis=1),
                    -1)
    empty = np.flatnonzero(last < 0)
    if len(empty):
        raise DataError(f"from_wide: {series_label(ids.iloc[empty[0]])} has no values")
    return np.arange(observed.shape[1])[None, :] <= last[:, None]


# ------------------------------------------------------- DoppelGANger npz
class _OutputSpec:
    """Plain holder for the fields of the original code's ``output.Output``."""


def _reconstruct(cls: type, base: type, state: Any) -> _OutputSpec:
    if cls is not _OutputSpec:
        raise pickle.UnpicklingError(f"refusing to rebuild {cls!r}")
    return _OutputSpec()


def _enum_value(value: Any) -> Any:
    return value


class _OutputSpecUnpickler(pickle.Unpickler):
    """Unpickles the original ``output.Output`` lists into plain objects only."""

    _ALLOWED = {
        ("copy_reg", "_reconstructor"): _reconstruct,
        ("copyreg", "_reconstructor"): _reconstruct,
        ("__builtin__", "object"): object,
        ("builtins", "object"): object,
        ("output", "Output"): _OutputSpec,
        ("output", "OutputType"): _enum_value,
        ("output", "Normalization"): _enum_value,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only DoppelGANger output specs are read"
            ) from None


def read_output_specs(path: "str | os.PathLike") -> List[Dict[str, Any]]:
    """Read an original DoppelGANger ``data_*_output.pkl`` without importing classes.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    list of dict
        One dict per output: ``dim``, ``type`` ("DISCRETE"/"CONTINUOUS"),
        ``normalization`` and ``is_gen_flag``.
    """
    with open(path, "rb") as f:
        try:
            specs = _OutputSpecUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as exc:
            raise DataError(f"{os.fspath(path)!r} is not a DoppelGANger output spec: {exc}") \
                from exc
    out = []
    for spec in specs:
        fields = getattr(spec, "__dict__", {})
        kind = fields.get("type_")
        out.append({"dim": int(fields.get("dim", 0)),
                    "type": getattr(kind, "value", kind),
                    "normalization": getattr(fields.get("normalization"), "value",
                                             fields.get("normalization")),
                    "is_gen_flag": bool(fields.get("is_gen_flag", False))})
    return out


def _decode_blocks(array: np.ndarray, specs: List[Dict[str, Any]], names: List[str],
                   what: str) -> Dict[str, np.ndarray]:
    width = sum(s["dim"] for s in specs)
    if width != array.shape[-1]:
        raise DataError(f"{what}: the output specs describe {width} columns, the array has "
                        f"{array.shape[-1]}")
    columns, offset = {}, 0
    for spec, name in zip(specs, names):
        block = array[..., offset:offset + spec["dim"]]
        columns[name] = block.argmax(axis=-1) if spec["type"] == "DISCRETE" else block[..., 0]
        offset += spec["dim"]
    return columns


def from_doppelganger_npz(
    path: "str | os.PathLike",
    attribute_names: Optional[Sequence[str]] = None,
    feature_names: Optional[Sequence[str]] = None,
) -> Tuple[pd.DataFrame, Schema]:
    """Read the original DoppelGANger ``data_train.npz`` format.

    The one-hot layout is taken from ``data_attribute_output.pkl`` and
    ``data_feature_output.pkl`` in the same folder (read without importing
    any class); without them, every attribute column is taken as one
    continuous attribute and every feature column as one continuous feature.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file (``data_feature``, ``data_attribute``,
        ``data_gen_flag``).
    attribute_names, feature_names : sequence of str, optional
        Column names; default ``attribute_0``, ``feature_0``, ...

    Returns
    -------
    long_df : pandas.DataFrame
        Columns ``series``, ``step``, the attributes (category index for
        one-hot groups) and the features, one row per record with a set
        generation flag.
    schema : Schema
    """
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as data:
        for key in ("data_feature", "data_attribute", "data_gen_flag"):
            if key not in data.files:
                raise DataError(f"{path!r} lacks the array {key!r} of the DoppelGANger format")
        features, attributes = data["data_feature"], data["data_attribute"]
        flags = data["data_gen_flag"]
    folder = os.path.dirname(path)
    specs = {}
    for part, array in (("attribute", attributes), ("feature", features)):
        spec_path = os.path.join(folder, f"data_{part}_output.pkl")
        specs[part] = (read_output_specs(spec_path) if os.path.exists(spec_path)
                       else [{"dim": 1, "type": "CONTINUOUS"}] * array.shape[-1])
    attr_names = list(attribute_names or [f"attribute_{i}" for i in range(len(specs["attribute"]))])
    feat_names = list(feature_names or [f"feature_{i}" for i in range(len(specs["feature"]))])
    if len(attr_names) != len(specs["attribute"]) or len(feat_names) != len(specs["feature"]):
        raise DataError(f"{path!r}: expected {len(specs['attribute'])} attribute and "
                        f"{len(specs['feature'])} feature names")
    attr_cols = _decode_blocks(attributes, specs["attribute"], attr_names, "data_attribute")
    feat_cols = _decode_blocks(features, specs["feature"], feat_names, "data_feature")
    series, steps = np.nonzero(flags > 0.5)
    long = pd.DataFrame({"series": series.astype(np.int64), "step": steps.astype(np.int64)})
    for name, values in attr_cols.items():
        long[name] = values[series]
    for name, values in feat_cols.items():
        long[name] = values[series, steps]
    kind = {"DISCRETE": "categorical", "CONTINUOUS": "continuous"}
    schema = Schema("series", "step",
                    {n: kind[s["type"]] for n, s in zip(attr_names, specs["attribute"])},
                    {n: kind[s["type"]] for n, s in zip(feat_names, specs["feature"])})
    return long, schema


# ------------------------------------------------------------- sktime .ts
def read_sktime_ts(path: "str | os.PathLike", label_name: str = "label",
                   value_name: str = "value", max_series: Optional[int] = None
                   ) -> Tuple[pd.DataFrame, Schema]:
    """Read a univariate sktime/UEA ``.ts`` file with class labels (e.g. PLAID).

    Parameters
    ----------
    path : str or path-like
    label_name, value_name : str
        Names of the class-label attribute and of the feature.
    max_series : int, optional
        Read only the first series.

    Returns
    -------
    long_df : pandas.DataFrame
        Columns ``series``, ``step``, the label (str) and the value.
    schema : Schema
    """
    ids, steps, labels, values = [], [], [], []
    in_data = False
    with open(path, encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                in_data = line.lower() == "@data"
                continue
            if max_series is not None and len(labels) >= max_series:
                break
            body, _, label = line.rpartition(":")
            try:
                numbers = np.array(body.split(","), dtype=np.float64)
            except ValueError as exc:
                raise DataError(f"{os.fspath(path)!r} line {line_no}: {exc}") from exc
            series = len(labels)
            labels.append(label)
            ids.append(np.full(len(numbers), series))
            steps.append(np.arange(len(numbers)))
            values.append(numbers)
    if not labels:
        raise DataError(f"{os.fspath(path)!r} holds no series after @data")
    series_ids = np.concatenate(ids)
    long = pd.DataFrame({"series": series_ids, "step": np.concatenate(steps)})
    long[label_name] = np.asarray(labels, dtype=object)[series_ids]
    long[value_name] = np.concatenate(values)
    schema = Schema("series", "step", {label_name: "categorical"}, {value_name: "continuous"})
    return long, schema


# ------------------------------------------------------------ table files
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def read_table(path: "str | os.PathLike", schema: Optional[Schema] = None) -> pd.DataFrame:
    """Read a long table from ``.csv``, ``.csv.gz`` or ``.parquet``.

    CSV stores times as text: when ``schema`` names a time column that
    reads as text, it is parsed as datetimes if every value is one, and
    left as it is otherwise.

    Parameters
    ----------
    path : str or path-like
    schema : Schema, optional

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        For a missing file, an unknown suffix or an unreadable file.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise DataError(f"{name!r} does not exist or is not a file")
    lower = name.lower()
    try:
        if lower.endswith(".parquet"):
            df = pd.read_parquet(name)
        elif lower.endswith(".csv") or lower.endswith(".csv.gz"):
            df = pd.read_csv(name)
        else:
            raise DataError(f"{name!r}: expected a {', '.join(TABLE_SUFFIXES)} file")
    except DataError:
        raise
    except Exception as exc:  # a parser's own error type varies by format
        raise DataError(f"{name!r} could not be read: {exc}") from exc
    time = schema.time_column if schema is not None else None
    if time is not None and time in df.columns and not (
            pd.api.types.is_numeric_dtype(df[time]) or
            pd.api.types.is_datetime64_any_dtype(df[time])):
        try:
            df[time] = pd.to_datetime(df[time], format="ISO8601")
        except (ValueError, TypeError):
            pass  # labels, not times: ordered as they are
    return df


# ------------------------------------------------------------ writing
def write_chunks(path: "str | os.PathLike", chunks: Iterator[pd.DataFrame], n: int,
                 chunk_size: int, overwrite: bool = False, verbose: int = 0) -> Path:
    """Write DataFrame chunks to one CSV or parquet file, complete or not at all.

    The format follows the suffix (``.csv``, ``.csv.gz``, ``.parquet``;
    parquet needs ``pyarrow``). The file is written under a temporary name
    and renamed when complete, so an interrupted run leaves no half-written
    output.

    Parameters
    ----------
    path : str or path-like
        Output file; an existing file is refused unless ``overwrite``.
    chunks : iterator of pandas.DataFrame
        Consumed here; every chunk but the last holds ``chunk_size`` series.
    n, chunk_size : int
        Series in all and per chunk, for the progress bar.
    overwrite : bool, default=False
    verbose : int, default=0
        1 shows a progress bar over the series written, on stderr.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise DataError(f"{str(path)!r} exists; pass overwrite=True to replace it")
    writer = _chunk_writer(path)
    if verbose:
        chunks = _with_progress(chunks, n, chunk_size, verbose)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        writer(chunks, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _with_progress(chunks: Iterator[pd.DataFrame], n: int, chunk_size: int,
                   verbose: int) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, drawing a progress bar over the series written."""
    from .callbacks import ProgressBar

    bar = ProgressBar(n, verbose, unit="series")
    done = 0
    for chunk in chunks:
        yield chunk
        done = min(n, done + chunk_size)  # every chunk but the last is full
        bar.update(done)


def _chunk_writer(path: Path) -> Callable[[Iterator[pd.DataFrame], Path], None]:
    """A function that writes DataFrame chunks to a file in the format of ``path``."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DataError("writing parquet needs pyarrow: pip install pyarrow") from exc

        def write_parquet(chunks: Iterator[pd.DataFrame], target: Path) -> None:
            writer = None
            try:
                for chunk in chunks:
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(target, table.schema)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()
        return write_parquet
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        def write_csv(chunks: Iterator[pd.DataFrame], target: Path) -> None:
            compression = "gzip" if name.endswith(".gz") else None
            mode = "wb" if compression else "w"
            opener = gzip.open if compression else open
            with opener(target, mode) as handle:
                for i, chunk in enumerate(chunks):
                    text = chunk.to_csv(index=False, header=i == 0)
                    handle.write(text.encode("utf-8") if compression else text)
        return write_csv
    raise DataError(f"{str(path)!r}: choose a .csv, .csv.gz or .parquet file name")
