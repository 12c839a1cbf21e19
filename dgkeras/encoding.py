"""Long DataFrame <-> padded arrays for DoppelGANger, and back, exactly.

The encoder turns a long DataFrame (one row per record) into

* ``attributes``: (n_series, A) one-hot / scaled attribute values;
* ``minmax``: (n_series, 2 * n_continuous_features) per-series "fake
  attributes" ((max + min) / 2 and max - min of each continuous feature,
  globally scaled to [0, 1]) when auto-normalisation is on, else width 0;
* ``features``: (n_series, T, F + 2) records, each continuous feature scaled
  by its series' own min/max, followed by the two generation flags
  ([1, 0] while the series goes on, [0, 1] at its last record, zeros after);
* ``lengths``: (n_series,) number of records of each series;

and decodes generator outputs of the same layout back into a DataFrame with
the training columns and dtypes. No TensorFlow here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from .columns import (
    CategoricalColumn,
    ContinuousColumn,
    MinMaxScale,
    column_from_state,
    continuous_activation,
    from_output_space,
    make_column,
    output_space_affine,
    to_output_space,
)
from .exceptions import DataError, series_label
from .outputs import FLAG_DIM, Output, lengths_from_flags, write_flags
from .params import MINMAX_SCALES, ZERO_ONE, boolean, check, options
from .schema import Schema
from .timing import LearnedTime

#: The paper's guidance: keep the number of LSTM steps T / S at or below this.
MAX_LSTM_STEPS = 50
ID_PREFIX = "synthetic-"


@dataclass
class EncodedData:
    """Arrays for the networks; see the module docstring for the layout."""

    attributes: np.ndarray
    minmax: np.ndarray
    features: np.ndarray
    lengths: np.ndarray

    @property
    def n_series(self) -> int:
        """Number of series."""
        return len(self.lengths)


def choose_sample_len(max_len: int, sample_len: Optional[int]) -> int:
    """Records per LSTM step: the smallest S with ceil(T / S) <= 50, or a checked given S.

    Parameters
    ----------
    max_len : int
        Longest series length T.
    sample_len : int or None
        User's choice of S.

    Returns
    -------
    int

    Raises
    ------
    DataError
        If the given S is not an integer between 1 and T.
    """
    if sample_len is None:
        return max(1, math.ceil(max_len / MAX_LSTM_STEPS))
    check("sample_len", sample_len)
    if not sample_len <= max_len:
        raise DataError(
            f"sample_len={sample_len} does not fit sequences of at most {max_len} records: "
            f"each LSTM step emits sample_len records, so it must lie in [1, {max_len}]. "
            f"sample_len=None picks {choose_sample_len(max_len, None)}, the smallest value "
            f"that keeps the LSTM at <= {MAX_LSTM_STEPS} steps (the paper's guidance)"
        )
    if math.ceil(max_len / sample_len) > MAX_LSTM_STEPS:
        warnings.warn(
            f"sample_len={sample_len} gives {math.ceil(max_len / sample_len)} LSTM steps for "
            f"{max_len} records; above {MAX_LSTM_STEPS} the LSTM struggles with long-range "
            "correlations (DoppelGANger paper, Sec. 4.1)",
            UserWarning,
            stacklevel=3,
        )
    return int(sample_len)


def series_order(df: pd.DataFrame, schema: Schema):
    """Series codes, row order and per-row position for a validated frame."""
    if schema.id_column is not None:
        codes, ids = pd.factorize(df[schema.id_column], sort=False)
    else:
        codes, ids = np.zeros(len(df), dtype=np.int64), pd.Index([0])
    if schema.time_column is not None:
        time_rank = pd.factorize(df[schema.time_column], sort=True)[0]
        order = np.lexsort((time_rank, codes))
    else:
        order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    lengths = np.bincount(sorted_codes, minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    positions = np.arange(len(order)) - starts[sorted_codes]
    return ids, order, sorted_codes, positions, lengths


def _kept_records(records: np.ndarray, lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The records within each series' length, series by series, and their positions.

    A boolean mask (or, when every series is full, a reshape) is much faster
    than gathering millions of (series, position) pairs.
    """
    n, width = records.shape[:2]
    kept = np.arange(width)[None, :] < lengths[:, None]
    if kept.all():
        return records.reshape(n * width, records.shape[2]), np.tile(np.arange(width), n)
    return records[kept], np.broadcast_to(np.arange(width), (n, width))[kept]


def extreme_records(values: np.ndarray,
                    lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each series' lowest and highest generated value lie.

    Parameters
    ----------
    values : numpy.ndarray, shape (n, T)
        One continuous feature's generator outputs, a row per series.
    lengths : numpy.ndarray, shape (n,)
        Records per series; later positions are ignored.

    Returns
    -------
    series, lowest, highest : numpy.ndarray
        For each series whose lowest and highest value lie at different
        records (the first of ties), its row and the two positions.
    """
    kept = np.arange(values.shape[1])[None, :] < lengths[:, None]
    lowest = np.where(kept, values, np.inf).argmin(axis=1)
    highest = np.where(kept, values, -np.inf).argmax(axis=1)
    series = np.flatnonzero(lowest != highest)
    return series, lowest[series], highest[series]


class TimeGrid:
    """The common time grid of the training data, regenerated for synthetic series.

    The grid is the sorted time values of a longest training series, extended
    with its last step when ``max_sequence_len`` asks for more records.
    """

    def __init__(self, column: str) -> None:
        self.column = column
        self.kind = "numeric"
        self.values: List[Any] = []
        self.dtype = "float64"

    def fit(self, times: pd.Series, length: int) -> "TimeGrid":
        """Learn the grid from the (sorted) times of one longest series."""
        self.dtype = str(times.dtype)
        if pd.api.types.is_datetime64_any_dtype(times.dtype):
            self.kind = "datetime"
        elif pd.api.types.is_timedelta64_dtype(times.dtype):
            self.kind = "timedelta"
        elif pd.api.types.is_numeric_dtype(times.dtype) and not pd.api.types.is_bool_dtype(
            times.dtype
        ):
            self.kind = "numeric"
        else:
            self.kind = "label"
        grid = times.tolist()
        if len(grid) < length:
            grid = self._extend(times, length)
        if self.kind in ("datetime", "timedelta"):
            self.values = [str(v) for v in grid]
        else:
            self.values = [v.item() if isinstance(v, np.generic) else v for v in grid]
        return self

    def _extend(self, times: pd.Series, length: int) -> list:
        if self.kind == "label":
            raise DataError(
                f"time column {self.column!r} is neither numeric nor datetime, so its grid "
                f"cannot be extended to max_sequence_len={length} records"
            )
        step = times.iloc[-1] - times.iloc[-2] if len(times) >= 2 else 1
        if self.kind != "numeric" and len(times) < 2:
            step = pd.Timedelta(1, "s")
        return [times.iloc[0] + k * step for k in range(length)]

    def take(self, positions: np.ndarray) -> pd.Series:
        """Time values at the given record positions, in the training dtype."""
        # The grid is converted once per encoder, then gathered as an array.
        typed = getattr(self, "_typed", None)
        if typed is None:
            grid = np.asarray(self.values, dtype=object)
            if self.kind == "datetime":
                typed = pd.Series(pd.to_datetime(grid)).astype(self.dtype)
            elif self.kind == "timedelta":
                typed = pd.Series(pd.to_timedelta(grid)).astype(self.dtype)
            else:
                typed = pd.Series(grid).astype(self.dtype)
            self._typed = typed
        return take_rows(typed, positions)

    def to_state(self) -> Dict[str, Any]:
        """JSON-able description of the grid."""
        return {"column": self.column, "kind": self.kind, "values": self.values,
                "dtype": self.dtype}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "TimeGrid":
        """Rebuild a grid from :meth:`to_state`."""
        grid = cls(state["column"])
        grid.kind, grid.values, grid.dtype = state["kind"], list(state["values"]), state["dtype"]
        return grid


class Encoder:
    """Fit on a long DataFrame; transform to arrays; decode arrays to a DataFrame.

    Parameters
    ----------
    schema : Schema
        Roles and kinds of the columns.
    sample_len : int or None
        Records per LSTM step (S); None chooses the smallest S with T / S <= 50.
    max_sequence_len : int or None
        Longest series the model can generate; None takes the longest
        training series.
    auto_normalize : bool
        Scale each series' continuous features by its own min/max and model
        those as extra generated attributes.
    normalization : {"zero_one", "minus_one_one"}
        Output range of continuous values: [0, 1] (sigmoid) or [-1, 1] (tanh).
    time_mode : {"grid", "learned"}
        "grid": generated series take the time values of a longest
        training series. "learned": each series' start time and its
        records' gaps are generated (see :mod:`dgkeras.timing`).
    log_columns : sequence of str
        Continuous columns modelled on a log scale (``log1p`` of the
        distance from the column minimum), for values that span orders of
        magnitude.
    minmax_scale : {"unit", "log", "log_min", "quantile"}
        How the per-series level and span of auto-normalisation are given
        to the generator: "unit" the midrange and span as they are, in
        [0, 1]; "log" both spread over [0, 1] on a log scale fitted to the
        training series, so that series near the bottom of a wide range
        are not squeezed into a sliver of the output; "log_min" the same
        with the minimum in place of the midrange; "quantile" the minimum
        and span each by its distribution over the training series (see
        :class:`MinMaxScale`).
    snap_to_minimum : bool
        Where a continuous attribute or feature has a point mass at its
        training minimum, decode values next to it as it (see
        :class:`~dgkeras.columns.ContinuousColumn`).
    pin_extremes : bool
        With ``auto_normalize``, decode the record where a generated series'
        values of a continuous feature are lowest as the series' generated
        minimum, and the record where they are highest as its maximum: every
        training series takes both (its own values scale to exactly 0 and 1),
        and the generator's records fall short of them.
    """

    def __init__(
        self,
        schema: Schema,
        sample_len: Optional[int] = None,
        max_sequence_len: Optional[int] = None,
        auto_normalize: bool = True,
        normalization: str = ZERO_ONE,
        time_mode: str = "grid",
        log_columns: Sequence[str] = (),
        minmax_scale: str = "unit",
        snap_to_minimum: bool = False,
        pin_extremes: bool = False,
    ) -> None:
        for name, value in [("normalization", normalization), ("time_mode", time_mode),
                            ("log_columns", log_columns)]:
            check(name, value)
        # "auto" (minmax_scale, snap_to_minimum) depends on the fit, which
        # DGSynthesizer resolves; the encoder takes only resolved values.
        options(MINMAX_SCALES).check("minmax_scale", minmax_scale)
        self.minmax_scale = minmax_scale
        if time_mode == "learned" and schema.time_column is None:
            raise DataError("time_mode='learned' needs a time column in the schema")
        self.time_mode = time_mode
        self.schema = schema
        self.sample_len = sample_len
        self.max_sequence_len = max_sequence_len
        self.auto_normalize = auto_normalize
        self.normalization = normalization
        self.log_columns = list(log_columns or ())
        self._check_log_columns()
        boolean().check("snap_to_minimum", snap_to_minimum)
        self.snap_to_minimum = bool(snap_to_minimum)
        boolean().check("pin_extremes", pin_extremes)
        self.pin_extremes = bool(pin_extremes)

    def _check_log_columns(self) -> None:
        kinds = {**self.schema.attributes, **self.schema.features}
        for name in self.log_columns:
            if name not in kinds:
                raise DataError(f"log_columns names column {name!r}, which is not an "
                                f"attribute or feature of the schema")
            if kinds[name] != "continuous":
                raise DataError(f"log_columns names column {name!r}, which is "
                                f"{kinds[name]}; only continuous columns take a log scale")

    # ---------------------------------------------------------------- fitting
    def fit(self, df: pd.DataFrame) -> "Encoder":
        """Learn categories, ranges, dtypes, lengths and the time grid.

        Parameters
        ----------
        df : pandas.DataFrame
            Long data already validated against the schema.

        Returns
        -------
        Encoder
        """
        schema = self.schema
        ids, order, _, _, lengths = series_order(df, schema)
        self._fit_lengths(ids, lengths)
        longest = int(lengths.max())
        self.columns_ = [c for c in df.columns if c in set(schema.columns)]
        log = set(self.log_columns)
        snap = self.snap_to_minimum
        self.attribute_columns_ = [make_column(c, k, c in log, snap).fit(df[c])
                                   for c, k in schema.attributes.items()]
        self.feature_columns_ = [make_column(c, k, c in log, snap).fit(df[c])
                                 for c, k in schema.features.items()]
        self._fit_ids(df, ids)
        self.time_grid_ = None
        self.learned_time_: Optional[LearnedTime] = None
        self.start_column_: Optional[ContinuousColumn] = None
        if self.time_mode == "learned":
            gap_name = f"{schema.time_column} gap"
            while gap_name in df.columns:
                gap_name = "_" + gap_name
            self.learned_time_ = LearnedTime(schema.time_column, gap_name).fit(
                df, schema.id_column)
            with_gaps = self.learned_time_.with_gaps(df, schema.id_column)
            self.feature_columns_.append(ContinuousColumn(gap_name).fit(with_gaps[gap_name]))
            self.start_column_ = ContinuousColumn(f"{schema.time_column} start").fit(
                pd.Series(self.learned_time_.starts(df, schema.id_column)))
        elif schema.time_column is not None:
            first_longest = int(np.argmax(lengths))
            rows = order[np.concatenate([[0], np.cumsum(lengths)])[first_longest]:][:longest]
            self.time_grid_ = TimeGrid(schema.time_column).fit(
                df[schema.time_column].iloc[rows].reset_index(drop=True), self.max_len_)
        self.minmax_scales_: List[MinMaxScale] = []
        if self.auto_normalize:
            self._fit_minmax_scales(df)
        return self

    def _fit_lengths(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """The longest series, the one length they may all share, S and the padded T."""
        longest = int(lengths.max())
        if self.max_sequence_len is None:
            max_len = longest
        else:
            max_len = self.max_sequence_len
            check("max_sequence_len", max_len)
            if longest > max_len:
                raise DataError(
                    f"{series_label(ids[int(np.argmax(lengths))])} has {longest} records, more "
                    f"than max_sequence_len={max_len}; raise max_sequence_len or shorten the "
                    "series"
                )
        self.max_len_ = int(max_len)
        # Where every training series has the same length, every generated one takes it:
        # the generation flags could only add lengths that the data never has.
        self.fixed_len_: Optional[int] = longest if int(lengths.min()) == longest else None
        self.sample_len_ = choose_sample_len(self.max_len_, self.sample_len)
        self.padded_len_ = math.ceil(self.max_len_ / self.sample_len_) * self.sample_len_

    def _fit_minmax_scales(self, df: pd.DataFrame) -> None:
        """One MinMaxScale per continuous feature, fitted to the training series' levels."""
        if self.minmax_scale == "unit":  # nothing to learn
            self.minmax_scales_ = [MinMaxScale("unit") for _ in self.continuous_features]
            return
        if self.learned_time_ is not None:  # the gaps are a feature too
            df = self.learned_time_.with_gaps(df, self.schema.id_column)
        _, order, codes, _, lengths = series_order(df, self.schema)
        for column in self.continuous_features:
            unit = column.to_unit(df[column.name].iloc[order].to_numpy(
                dtype=np.float64, na_value=np.nan))
            _, lo, hi = _normalize_per_series(unit, codes, len(lengths))
            self.minmax_scales_.append(MinMaxScale(self.minmax_scale).fit(lo, hi))

    def _fit_ids(self, df: pd.DataFrame, ids: pd.Index) -> None:
        column = self.schema.id_column
        self.id_state_: Dict[str, Any] = {"kind": "none"}
        if column is None:
            return
        dtype = df[column].dtype
        if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            self.id_state_ = {"kind": "int", "start": int(ids.max()) + 1, "dtype": str(dtype)}
            return
        prefix = ID_PREFIX
        existing = pd.Series(ids.astype(str))
        while existing.str.startswith(prefix).any():
            prefix = "_" + prefix
        out_dtype = "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)
        if pd.api.types.is_numeric_dtype(dtype) and out_dtype != "category":
            out_dtype = "object"
        self.id_state_ = {"kind": "str", "prefix": prefix, "dtype": out_dtype}

    # ---------------------------------------------------------- output specs
    @property
    def continuous_features(self) -> List[ContinuousColumn]:
        """The continuous feature columns, in schema order."""
        return [c for c in self.feature_columns_ if isinstance(c, ContinuousColumn)]

    @property
    def attribute_outputs(self) -> List[Output]:
        """Generator output blocks for the attributes."""
        return [o for c in self.attribute_columns_ for o in c.outputs(self.normalization)]

    @property
    def minmax_outputs(self) -> List[Output]:
        """Generator output blocks for the per-series min/max fake attributes."""
        activation = continuous_activation(self.normalization)
        outputs = [Output(f"{c.name} {part}", 1, activation)
                   for c in self.continuous_features for part in ("(max+min)/2", "max-min")
                   if self.auto_normalize]
        if self.start_column_ is not None:  # generated per series, like the min/max values
            outputs.append(Output(self.start_column_.name, 1, activation))
        return outputs

    @property
    def feature_outputs(self) -> List[Output]:
        """Generator output blocks for one record, generation flags last."""
        outputs = [o for c in self.feature_columns_ for o in c.outputs(self.normalization)]
        return outputs + [Output("generation flag", FLAG_DIM, "softmax")]

    # ------------------------------------------------------------- transform
    def transform(self, df: pd.DataFrame, handle_unknown: str = "error") -> EncodedData:
        """Encode a validated long DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame
        handle_unknown : {"error", "ignore"}
            Categories not seen in training raise DataError, or, with
            "ignore", encode as all-zero one-hot rows (for comparing other
            data with the training data, e.g. holdout series).

        Returns
        -------
        EncodedData
        """
        starts = None
        if self.learned_time_ is not None:
            starts = self.learned_time_.starts(df, self.schema.id_column)
            df = self.learned_time_.with_gaps(df, self.schema.id_column)
        _, order, codes, positions, lengths = series_order(df, self.schema)
        if lengths.max() > self.max_len_:
            raise DataError(
                f"a series has {lengths.max()} records, more than max_sequence_len="
                f"{self.max_len_} of the fitted model"
            )
        n = len(lengths)
        first_rows = order[np.concatenate([[0], np.cumsum(lengths)[:-1]])]
        attributes = self.encode_attributes(df.iloc[first_rows], handle_unknown=handle_unknown)

        sorted_df = df.iloc[order]
        width = sum(o.dim for o in self.feature_outputs)
        features = np.zeros((n, self.padded_len_, width), dtype=np.float32)
        minmax = []
        offset = 0
        for column in self.feature_columns_:
            values = sorted_df[column.name]
            if isinstance(column, CategoricalColumn):
                features[codes, positions, offset:offset + column.dim] = column.encode(
                    values, self.normalization, handle_unknown=handle_unknown)
            else:
                unit = column.to_unit(values.to_numpy(dtype=np.float64, na_value=np.nan))
                if np.isnan(unit).any():
                    raise DataError(
                        f"column {column.name!r} has missing values; fill the gaps first "
                        "with dgkeras.cleaning.prepare_frame, as fit does")
                if self.auto_normalize:
                    unit, lo, hi = _normalize_per_series(unit, codes, n)
                    scale = self.minmax_scales_[len(minmax) // 2]
                    minmax += [to_output_space(scale.to_output(v, part), self.normalization)
                               for part, v in zip(scale.parts, scale.levels(lo, hi))]
                features[codes, positions, offset] = to_output_space(unit, self.normalization)
            offset += column.dim
        write_flags(features, lengths)
        if starts is not None:
            minmax.append(to_output_space(self.start_column_.to_unit(starts), self.normalization))
        minmax_array = (np.stack(minmax, axis=1).astype(np.float32) if minmax
                        else np.zeros((n, 0), dtype=np.float32))
        return EncodedData(attributes, minmax_array, features, lengths.astype(np.int64))

    def encode_attributes(self, frame: pd.DataFrame, check_range: bool = False,
                          handle_unknown: str = "error") -> np.ndarray:
        """Encode one row per series of attribute values, shape (n, A).

        Parameters
        ----------
        frame : pandas.DataFrame
            Must hold every attribute column.
        check_range : bool
            Refuse continuous values outside the training range (used for
            user-given attributes at sampling time).
        handle_unknown : {"error", "ignore"}
            As in :meth:`transform`.

        Returns
        -------
        numpy.ndarray
        """
        blocks = [np.zeros((len(frame), 0), dtype=np.float32)]
        for column in self.attribute_columns_:
            if check_range and isinstance(column, ContinuousColumn):
                column.check_range(frame[column.name], " (given attributes)")
            where = " (given attributes)" if check_range else ""
            blocks.append(column.encode(frame[column.name].reset_index(drop=True),
                                        self.normalization, where, handle_unknown))
        return np.concatenate(blocks, axis=1).astype(np.float32)

    # -------------------------------------------------------------- decoding
    def generated_lengths(self, records: np.ndarray) -> np.ndarray:
        """Records per generated series.

        Parameters
        ----------
        records : numpy.ndarray, shape (n, T, width)
            Generated records, the last two columns the generation flag pair.

        Returns
        -------
        numpy.ndarray of int, shape (n,)
            The training series' length where they all had one (``fixed_len_``),
            else each series' records up to the first whose flag says "ended".
        """
        if self.fixed_len_ is not None:
            return np.full(len(records), self.fixed_len_, dtype=np.int64)
        return lengths_from_flags(records, self.max_len_)

    def inverse_transform(
        self,
        attributes: np.ndarray,
        minmax: np.ndarray,
        features: np.ndarray,
        lengths: np.ndarray,
        given_attributes: Optional[pd.DataFrame] = None,
        id_offset: int = 0,
    ) -> pd.DataFrame:
        """Decode generator outputs to a long DataFrame with the training columns and dtypes.

        Parameters
        ----------
        attributes : ndarray, shape (n, A)
        minmax : ndarray, shape (n, M)
        features : ndarray, shape (n, T, F + 2)
            Records; the generation flags are ignored here (``lengths`` rules).
        lengths : ndarray of int, shape (n,)
            Records to keep for each series, 1 <= length <= T.
        given_attributes : pandas.DataFrame, optional
            Attribute values to emit as given instead of decoding ``attributes``.
        id_offset : int
            Number of the first generated series, so that chunks of one
            sample get distinct ids.

        Returns
        -------
        pandas.DataFrame
            New series ids, the time grid, attributes repeated per record and
            decoded features.
        """
        n = len(lengths)
        lengths = np.asarray(lengths, dtype=np.int64)
        records, positions = _kept_records(features[:, :self.max_len_], lengths)
        out: Dict[str, pd.Series] = {}
        if self.schema.id_column is not None:
            out[self.schema.id_column] = repeat_rows(self.new_ids(n, id_offset), lengths)
        if self.time_grid_ is not None:
            out[self.time_grid_.column] = self.time_grid_.take(positions)
        decoded = (given_attributes.reset_index(drop=True) if given_attributes is not None
                   else self.decode_attributes(attributes))
        for column in self.attribute_columns_:
            out[column.name] = repeat_rows(decoded[column.name], lengths)
        offset, k = 0, 0
        for column in self.feature_columns_:
            block = records[:, offset:offset + column.dim]
            if isinstance(column, ContinuousColumn):
                out[column.name] = column.restore(self._continuous_values(
                    column, block[:, 0], minmax, k, lambda v: repeat_each(v, lengths),
                    extremes=self._extremes(features[:, :self.max_len_, offset], lengths, True)))
                k += 1
            else:
                out[column.name] = column.decode(block, self.normalization)
            offset += column.dim
        if self.learned_time_ is not None:
            starts = self.start_column_.from_unit(from_output_space(
                minmax[:, -1].astype(np.float64), self.normalization))
            out[self.learned_time_.column] = self.learned_time_.decode(
                starts, out[self.learned_time_.gap_name].to_numpy(dtype=np.float64), lengths)
        return pd.DataFrame({c: out[c] for c in self.columns_}, copy=False)

    def _extremes(self, outputs: np.ndarray, lengths: np.ndarray,
                  long: bool = False) -> Optional[Tuple[Any, Any]]:
        """Where the records to decode as each series' minimum and maximum lie
        (``pin_extremes``), as indexes into the (n, T) ``outputs`` or, with
        ``long``, into the records of the long table; None when not pinning."""
        if not (self.pin_extremes and self.auto_normalize):
            return None
        series, lowest, highest = extreme_records(outputs, lengths)
        if long:
            starts = (np.cumsum(lengths) - lengths)[series]
            return starts + lowest, starts + highest
        return (series, lowest), (series, highest)

    def _continuous_values(self, column: ContinuousColumn, outputs: np.ndarray,
                           minmax: np.ndarray, k: int,
                           per_series: Callable[[np.ndarray], np.ndarray],
                           out: Optional[np.ndarray] = None,
                           extremes: Optional[Tuple[Any, Any]] = None) -> np.ndarray:
        """Decoded float64 values of the k-th continuous feature, in a new array or ``out``.

        ``outputs`` are its generator outputs, records of the long table or
        an (n, T) array; ``per_series`` lays a per-series array out like them
        (repeated per record, or as a column to broadcast); ``extremes``
        index the records to decode as each series' minimum and maximum
        (``pin_extremes``). The array is transformed in place: decoding
        millions of values needs no temporaries.
        """
        if out is None:
            values = outputs.astype(np.float64)
        else:
            values = out
            np.copyto(values, outputs)
        if extremes is not None:
            lowest, highest = extremes
            values[lowest] = to_output_space(0.0, self.normalization)
            values[highest] = to_output_space(1.0, self.normalization)
        # From output space to [0, 1], then into the series' own range, is one
        # affine map per series; the column applies it and one clip to its
        # training range. The outputs need no clip before: the generator's
        # sigmoid or tanh keeps them in the output range.
        scale, shift = output_space_affine(self.normalization)
        if self.auto_normalize:
            minmax_scale = self.minmax_scales_[k]
            lo, hi = minmax_scale.bounds(*(minmax_scale.from_output(from_output_space(
                minmax[:, 2 * k + j].astype(np.float64), self.normalization), part)
                for j, part in enumerate(minmax_scale.parts)))
            scale, shift = per_series(scale * (hi - lo)), per_series(shift * (hi - lo) + lo)
        return column.from_scaled(values, scale, shift)

    def inverse_transform_arrays(
        self,
        attributes: np.ndarray,
        minmax: np.ndarray,
        features: np.ndarray,
        lengths: np.ndarray,
        given_attributes: Optional[pd.DataFrame] = None,
        out: Optional[Dict[str, np.ndarray]] = None,
    ) -> Tuple[pd.DataFrame, Dict[str, np.ndarray]]:
        """Decode generator outputs to one attribute row and one array row per series.

        The values are those :meth:`inverse_transform` gives, laid out as
        (n, max_len) arrays instead of a long table: continuous features as
        float64 with NaN after each series' end (integer columns rounded),
        categorical features as object arrays with None after the end.

        Parameters
        ----------
        attributes, minmax, features, lengths, given_attributes
            As in :meth:`inverse_transform`.
        out : dict of str to ndarray, optional
            Arrays from :meth:`empty_feature_arrays` (or rows of them) to
            write the features into, so that blocks of series decode into
            one result without copies.

        Returns
        -------
        attributes : pandas.DataFrame
            One row per series, in the training dtypes.
        features : dict of str to ndarray, shape (n, max_len)
            ``out`` when given.
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        ended = np.arange(self.max_len_)[None, :] >= lengths[:, None]
        decoded = (given_attributes.reset_index(drop=True) if given_attributes is not None
                   else self.decode_attributes(attributes))
        arrays: Dict[str, np.ndarray] = {}
        offset, k = 0, 0
        for column in self.feature_columns_:
            block = features[:, :self.max_len_, offset:offset + column.dim]
            target = None if out is None else out[column.name]
            if isinstance(column, ContinuousColumn):
                values = self._continuous_values(column, block[..., 0], minmax, k,
                                                 lambda v: v[:, None], target,
                                                 self._extremes(block[..., 0], lengths))
                column.snap_to_min(values)
                if column.integer:
                    np.rint(values, out=values)
                np.copyto(values, np.nan, where=ended)
                k += 1
            else:
                values = column.values_of(block, ended, target)
            arrays[column.name] = values
            offset += column.dim
        return decoded, arrays

    def empty_feature_arrays(self, n: int) -> Dict[str, np.ndarray]:
        """Uninitialised (n, max_len) arrays for :meth:`inverse_transform_arrays` to fill:
        float64 for continuous features, object for categorical ones."""
        return {column.name: np.empty((n, self.max_len_), dtype=np.float64
                                      if isinstance(column, ContinuousColumn) else object)
                for column in self.feature_columns_}

    def decode_attributes(self, attributes: np.ndarray) -> pd.DataFrame:
        """Decode a (n, A) attribute block to one row per series, in the training dtypes."""
        columns: Dict[str, pd.Series] = {}
        offset = 0
        for column in self.attribute_columns_:
            columns[column.name] = column.decode(attributes[:, offset:offset + column.dim],
                                                 self.normalization)
            offset += column.dim
        return pd.DataFrame(columns, index=pd.RangeIndex(len(attributes)))

    def attribute_slices(self) -> Dict[str, slice]:
        """Where each attribute column's block lies in the encoded attribute array."""
        slices, offset = {}, 0
        for column in self.attribute_columns_:
            slices[column.name] = slice(offset, offset + column.dim)
            offset += column.dim
        return slices

    def new_ids(self, n: int, offset: int = 0) -> pd.Series:
        """Ids for n generated series, numbered from ``offset``, in the training id dtype."""
        state = self.id_state_
        numbers = offset + np.arange(n)
        if state["kind"] == "int":
            return pd.Series(state["start"] + numbers).astype(state["dtype"])
        values = np.array([f"{state['prefix']}{i}" for i in numbers], dtype=object)
        return pd.Series(values).astype(state["dtype"])

    # ------------------------------------------------------------ persistence
    def to_state(self) -> Dict[str, Any]:
        """JSON-able description of the fitted encoder."""
        return {
            "schema": self.schema.to_dict(),
            "sample_len": self.sample_len,
            "max_sequence_len": self.max_sequence_len,
            "auto_normalize": self.auto_normalize,
            "normalization": self.normalization,
            "time_mode": self.time_mode,
            "log_columns": list(self.log_columns),
            "minmax_scale": self.minmax_scale,
            "snap_to_minimum": self.snap_to_minimum,
            "pin_extremes": self.pin_extremes,
            "minmax_scales_": [scale.to_state() for scale in self.minmax_scales_],
            "max_len_": self.max_len_,
            "fixed_len_": self.fixed_len_,
            "sample_len_": self.sample_len_,
            "padded_len_": self.padded_len_,
            "columns_": list(self.columns_),
            "attribute_columns_": [c.to_state() for c in self.attribute_columns_],
            "feature_columns_": [c.to_state() for c in self.feature_columns_],
            "id_state_": dict(self.id_state_),
            "time_grid_": self.time_grid_.to_state() if self.time_grid_ is not None else None,
            "learned_time_": (self.learned_time_.to_state() if self.learned_time_ is not None
                              else None),
            "start_column_": (self.start_column_.to_state() if self.start_column_ is not None
                              else None),
        }

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "Encoder":
        """Rebuild a fitted encoder from :meth:`to_state`."""
        encoder = cls(Schema.from_dict(state["schema"]), state["sample_len"],
                      state["max_sequence_len"], state["auto_normalize"], state["normalization"],
                      state.get("time_mode", "grid"), state.get("log_columns", ()),
                      state.get("minmax_scale", "unit"), state.get("snap_to_minimum", False),
                      state.get("pin_extremes", False))
        encoder.max_len_ = int(state["max_len_"])
        # Saved before the rule: lengths from the generation flags, as then.
        fixed = state.get("fixed_len_")
        encoder.fixed_len_ = int(fixed) if fixed is not None else None
        encoder.sample_len_ = int(state["sample_len_"])
        encoder.padded_len_ = int(state["padded_len_"])
        encoder.columns_ = list(state["columns_"])
        encoder.attribute_columns_ = [column_from_state(s) for s in state["attribute_columns_"]]
        encoder.feature_columns_ = [column_from_state(s) for s in state["feature_columns_"]]
        encoder.id_state_ = dict(state["id_state_"])
        grid = state["time_grid_"]
        encoder.time_grid_ = TimeGrid.from_state(grid) if grid is not None else None
        learned, start = state.get("learned_time_"), state.get("start_column_")
        encoder.learned_time_ = LearnedTime.from_state(learned) if learned else None
        encoder.start_column_ = column_from_state(start) if start else None
        if "minmax_scales_" in state:
            encoder.minmax_scales_ = [MinMaxScale.from_state(s) for s in state["minmax_scales_"]]
        else:  # saved before the option: the plain unit midrange and span
            encoder.minmax_scales_ = ([MinMaxScale("unit") for _ in encoder.continuous_features]
                                      if encoder.auto_normalize else [])
        return encoder


def take_rows(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """``values.iloc[rows]`` with a fresh 0..n-1 index, in the same dtype.

    Decoding repeats every per-series value once per record (millions of
    rows); numpy-backed and categorical columns are gathered as arrays,
    which is several times faster than pandas' positional indexing.
    """
    return _gather(values, lambda array: array.take(rows), rows)


def repeat_rows(values: pd.Series, counts: np.ndarray) -> pd.Series:
    """Each value ``counts[i]`` times, in order: ``take_rows`` of the repeated
    positions, but a sequential copy instead of a gather."""
    return _gather(values, lambda array: repeat_each(array, counts),
                   lambda: repeat_each(np.arange(len(values)), counts))


def repeat_each(array: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``np.repeat(array, counts)``, ten times faster when all counts are equal."""
    counts = np.asarray(counts)
    if len(counts) and (counts == counts[0]).all():
        return np.repeat(array, int(counts[0]))
    return np.repeat(array, counts)


def _gather(values: pd.Series, pick: Callable[[np.ndarray], np.ndarray],
            rows: "np.ndarray | Callable[[], np.ndarray]") -> pd.Series:
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        # The picked array is new: the Series may own it without a copy.
        return pd.Series(pick(values.to_numpy()), dtype=dtype, copy=False)
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical.from_codes(pick(values.cat.codes.to_numpy()),
                                                   dtype=dtype))
    # Other extension dtypes (strings, tz-aware times): pandas' own positional take.
    return values.iloc[rows() if callable(rows) else rows].reset_index(drop=True)


def _normalize_per_series(unit: np.ndarray, codes: np.ndarray, n: int):
    """Scale each series' values to [0, 1] by its own min/max; return the mins and maxes."""
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, codes, unit)
    np.maximum.at(hi, codes, unit)
    span = (hi - lo)[codes]
    # A constant series maps to 0; decoding gives lo + 0 * 0 = lo back exactly.
    scaled = np.divide(unit - lo[codes], span, out=np.zeros_like(unit), where=span > 0)
    return scaled, lo, hi
