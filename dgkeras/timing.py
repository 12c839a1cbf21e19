"""Learned timestamps: each series' start time and its records' gaps, modelled as data.

With ``time_mode="learned"`` a series' times are not taken from a common grid
but generated: its start time is one more per-series value, generated with
the per-series min/max values (conditioned on the attributes), and the gap
to the previous record is one more continuous feature. Decoding adds the
gaps up from the start. Times are handled as float seconds (datetimes from
the Unix epoch), and decoded times are rounded to the coarsest unit that
every training time is a multiple of (a day, an hour, ..., a nanosecond;
for numbers, 1 if they are all integers), so that a trace sampled every
6 hours comes back on 6-hour marks. Gaps are at least the smallest training
gap, so the times of a series strictly increase. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
import pandas as pd

from .exceptions import DataError

_DATETIME_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


class LearnedTime:
    """Convert a time column to (start per series, gap per record) and back.

    Parameters
    ----------
    column : str
        The time column.
    gap_name : str
        Name of the gap feature column it adds.
    """

    def __init__(self, column: str, gap_name: str) -> None:
        self.column = column
        self.gap_name = gap_name
        self.kind = "numeric"
        self.dtype = "float64"
        self.resolution = 0.0
        self.placeholder_gap = 1.0

    # -------------------------------------------------------------- fitting
    def fit(self, df: pd.DataFrame, id_column: Optional[str]) -> "LearnedTime":
        """Learn the kind, dtype and resolution of the times."""
        times = df[self.column]
        self.dtype = str(times.dtype)
        if pd.api.types.is_datetime64_any_dtype(times.dtype):
            self.kind = "datetime"
            nanoseconds = _datetime_ns(times)
            self.resolution = next(u for u in _DATETIME_UNITS_NS
                                   if (nanoseconds % u == 0).all()) / 1e9
        elif pd.api.types.is_numeric_dtype(times.dtype) and not pd.api.types.is_bool_dtype(
                times.dtype):
            self.kind = "numeric"
            values = times.to_numpy(dtype=np.float64)
            self.resolution = 1.0 if np.all(values == np.round(values)) else 0.0
        else:
            raise DataError(
                f"time_mode='learned' needs a numeric or datetime time column; "
                f"{self.column!r} has dtype {times.dtype}"
            )
        # Rows may come in any order; gaps are within each series in time order.
        gaps = self._gaps(self._in_time_order(df, id_column), id_column)
        positive = gaps[np.isfinite(gaps)]
        self.placeholder_gap = float(np.median(positive)) if len(positive) else 1.0
        return self

    def seconds(self, times: pd.Series) -> np.ndarray:
        """Times as float seconds (datetimes from the Unix epoch)."""
        if self.kind == "datetime":
            return _datetime_ns(times) / 1e9
        return times.to_numpy(dtype=np.float64)

    def _in_time_order(self, df: pd.DataFrame, id_column: Optional[str]) -> pd.DataFrame:
        """``df`` on a fresh RangeIndex, its rows sorted by series, then time (stable)."""
        keys = [c for c in (id_column, self.column) if c is not None]
        return df.reset_index(drop=True).sort_values(keys, kind="stable")

    def _gaps(self, df: pd.DataFrame, id_column: Optional[str]) -> np.ndarray:
        """Gap to the previous record of the same series; NaN at each series' first."""
        keys = df[id_column] if id_column is not None else pd.Series(0, index=df.index)
        seconds = pd.Series(self.seconds(df[self.column]), index=df.index)
        return seconds.groupby(keys.to_numpy(), sort=False).diff().to_numpy()

    # ------------------------------------------------------------ encoding
    def with_gaps(self, df: pd.DataFrame, id_column: Optional[str]) -> pd.DataFrame:
        """A copy of ``df``, rows in their order, with the gap column added.

        A series' first record has no gap; it gets the median training gap,
        a placeholder that decoding ignores.
        """
        ordered = self._in_time_order(df, id_column)
        sorted_gaps = self._gaps(ordered, id_column)
        gaps = np.empty(len(df))
        gaps[ordered.index.to_numpy()] = sorted_gaps
        return df.assign(**{self.gap_name: np.where(np.isnan(gaps), self.placeholder_gap, gaps)})

    def starts(self, df: pd.DataFrame, id_column: Optional[str]) -> np.ndarray:
        """Start time (float seconds) of each series, in order of first appearance."""
        seconds = pd.Series(self.seconds(df[self.column]), index=df.index)
        if id_column is None:
            return np.array([seconds.min()])
        return seconds.groupby(df[id_column].to_numpy(), sort=False).min().to_numpy()

    # ------------------------------------------------------------ decoding
    def decode(self, starts: np.ndarray, gaps: np.ndarray, lengths: np.ndarray) -> pd.Series:
        """Times of series laid out one after another, from their starts and gaps.

        Parameters
        ----------
        starts : ndarray, shape (n,)
            Float seconds.
        gaps : ndarray, shape (sum(lengths),)
            Float seconds; each series' first gap is ignored.
        lengths : ndarray of int, shape (n,)
        """
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        steps = np.array(gaps, dtype=np.float64)
        steps[first] = 0.0
        total = np.cumsum(steps)
        seconds = np.repeat(starts, lengths) + total - np.repeat(total[first], lengths)
        if self.resolution > 0:
            seconds = np.round(seconds / self.resolution) * self.resolution
        if self.kind == "datetime":
            nanoseconds = np.round(seconds * 1e9).astype(np.int64)
            values = pd.Series(pd.to_datetime(nanoseconds, unit="ns", utc=True))
            if "UTC" not in self.dtype and "," not in self.dtype:
                values = values.dt.tz_localize(None)
            return values.astype(self.dtype)
        return pd.Series(seconds).astype(self.dtype)

    # --------------------------------------------------------- persistence
    def to_state(self) -> Dict[str, Any]:
        """JSON-able description."""
        return {"column": self.column, "gap_name": self.gap_name, "kind": self.kind,
                "dtype": self.dtype, "resolution": self.resolution,
                "placeholder_gap": self.placeholder_gap}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "LearnedTime":
        """Rebuild from :meth:`to_state`."""
        learned = cls(state["column"], state["gap_name"])
        learned.kind, learned.dtype = state["kind"], state["dtype"]
        learned.resolution = float(state["resolution"])
        learned.placeholder_gap = float(state["placeholder_gap"])
        return learned


def _datetime_ns(times: pd.Series) -> np.ndarray:
    """Nanoseconds since the Unix epoch (UTC for time-zone-aware times)."""
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times.astype("datetime64[ns]").to_numpy().astype(np.int64)
