"""Per-column transforms between user values and the generator's output space.

A categorical column becomes a one-hot block (softmax output); a continuous
column is scaled by its training min/max to [0, 1] (sigmoid output) or
[-1, 1] (tanh output). Each transform remembers the column's dtype so that
decoding gives back the same dtype (int stays int, bool stays bool, pandas
category stays category). No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from .exceptions import DataError, plain
from .outputs import Output
from .params import MINMAX_SCALES, ZERO_ONE


def continuous_activation(normalization: str) -> str:
    """The output activation that matches a normalisation."""
    return "sigmoid" if normalization == ZERO_ONE else "tanh"


def to_output_space(unit: np.ndarray, normalization: str) -> np.ndarray:
    """Map values in [0, 1] to the output range of ``normalization``."""
    return unit if normalization == ZERO_ONE else 2.0 * unit - 1.0


def output_space_affine(normalization: str) -> Tuple[float, float]:
    """``(scale, shift)`` of the map from generator outputs back to [0, 1]:
    :func:`from_output_space` is ``clip(values * scale + shift, 0, 1)``."""
    return (1.0, 0.0) if normalization == ZERO_ONE else (0.5, 0.5)


def from_output_space(values: np.ndarray, normalization: str,
                      out: Optional[np.ndarray] = None) -> np.ndarray:
    """Map generator outputs back to [0, 1], clipping what lies outside.

    With ``out`` (possibly ``values`` itself) the result is written there.
    """
    scale, shift = output_space_affine(normalization)
    if (scale, shift) != (1.0, 0.0):
        values = np.multiply(values, scale, out=out)
        np.add(values, shift, out=values)
        out = values
    return np.clip(values, 0.0, 1.0, out=out)


def _json_scalar(value: Any, column: str) -> Any:
    """Convert a category value to a plain JSON value, or refuse it."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise DataError(
        f"categorical column {column!r} holds a value {value!r} of type "
        f"{type(value).__name__}; categories must be str, int, float or bool"
    )


def _dtype_state(dtype: Any) -> Dict[str, Any]:
    state: Dict[str, Any] = {"dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        state["dtype_categories"] = [_json_scalar(v, "<category>") for v in dtype.categories]
        state["ordered"] = bool(dtype.ordered)
    return state


def _restore_dtype(values: np.ndarray, state: Dict[str, Any]) -> pd.Series:
    dtype = state["dtype"]
    if dtype == "category":
        categorical = pd.Categorical(
            values, categories=state["dtype_categories"], ordered=state["ordered"]
        )
        return pd.Series(categorical)
    return pd.Series(values).astype(dtype)


class CategoricalColumn:
    """One-hot encoding of a categorical column.

    Parameters
    ----------
    name : str
        Column name, used in messages.
    """

    kind = "categorical"

    def __init__(self, name: str) -> None:
        self.name = name
        self.categories: List[Any] = []
        self.dtype_state: Dict[str, Any] = {}

    def fit(self, values: pd.Series) -> "CategoricalColumn":
        """Learn the categories (sorted where the values allow) and the dtype.

        Missing values (NaN, None, NA) form one more category, kept last as
        ``None``, and decode as the column's missing value.
        """
        missing = values.isna()
        uniques = pd.unique(values[~missing].to_numpy(dtype=object))
        try:
            uniques = sorted(uniques)
        except TypeError:  # mixed types: keep order of first appearance
            uniques = list(uniques)
        self.categories = [_json_scalar(v, self.name) for v in uniques]
        if missing.any():
            self.categories.append(None)
        self.dtype_state = _dtype_state(values.dtype)
        return self

    @property
    def dim(self) -> int:
        """Width of the one-hot block."""
        return len(self.categories)

    def outputs(self, normalization: str) -> List[Output]:
        """The generator output block for this column."""
        return [Output(self.name, self.dim, "softmax")]

    def codes(self, values: pd.Series, where: str = "",
              handle_unknown: str = "error") -> np.ndarray:
        """Integer category codes; unknown values raise DataError, or get -1 when
        ``handle_unknown="ignore"``."""
        known = [c for c in self.categories if c is not None]
        codes = pd.Index(known, dtype=object).get_indexer(values.to_numpy(dtype=object))
        missing = values.isna().to_numpy()
        if None in self.categories:
            codes[missing] = self.categories.index(None)
        if (codes < 0).any() and handle_unknown != "ignore":
            bad = values.to_numpy(dtype=object)[codes < 0][0]
            raise DataError(
                f"column {self.name!r}{where} has value {plain(bad)!r}, which is not one of the "
                f"{self.dim} categories seen in training"
            )
        return codes

    def encode(self, values: pd.Series, normalization: str, where: str = "",
               handle_unknown: str = "error") -> np.ndarray:
        """One-hot encode, shape (n, dim); unknown values are all-zero rows when
        ``handle_unknown="ignore"``, else a DataError."""
        codes = self.codes(values, where, handle_unknown)
        one_hot = np.zeros((len(codes), self.dim), dtype=np.float32)
        known = codes >= 0
        one_hot[np.flatnonzero(known), codes[known]] = 1.0
        return one_hot

    def decode(self, block: np.ndarray, normalization: str) -> pd.Series:
        """Most likely category of each row of a (n, dim) block, in the training dtype."""
        if not self.dim:
            return _restore_dtype(self.values_of(block), self.dtype_state)
        # Cast the few categories to the training dtype once and pick from them:
        # casting every decoded value from an object array is several times slower.
        typed = _restore_dtype(np.array(self.categories, dtype=object), self.dtype_state)
        return typed.take(np.argmax(block, axis=-1)).reset_index(drop=True)

    def values_of(self, block: np.ndarray, ended: Optional[np.ndarray] = None,
                  out: Optional[np.ndarray] = None) -> np.ndarray:
        """Most likely category of each row of a (..., dim) block, as an object array.

        Where the boolean array ``ended`` is true the value is None instead
        (records after a series' end). With ``out`` (an object array of the
        block's shape without its last axis) the values are written there.
        """
        codes = (np.argmax(block, axis=-1) if block.shape[-1]
                 else np.zeros(block.shape[:-1], int))
        lookup = np.empty(len(self.categories) + 1, dtype=object)  # None last
        lookup[:-1] = self.categories
        if ended is not None:
            codes[ended] = len(self.categories)
        return np.take(lookup, codes, out=out)

    def to_state(self) -> Dict[str, Any]:
        """JSON-able description of the fitted column."""
        return {"kind": self.kind, "name": self.name, "categories": self.categories,
                **self.dtype_state}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "CategoricalColumn":
        """Rebuild a fitted column from :meth:`to_state`."""
        column = cls(state["name"])
        column.categories = list(state["categories"])
        column.dtype_state = {k: state[k] for k in ("dtype", "dtype_categories", "ordered")
                              if k in state}
        return column


#: Share of a continuous column's training values at its minimum from which
#: the minimum counts as a point mass (see ContinuousColumn's ``snap``).
POINT_MASS_SHARE = 0.01


class ContinuousColumn:
    """Min/max scaling of a continuous column to the output range.

    Parameters
    ----------
    name : str
        Column name, used in messages.
    log : bool
        Scale ``log1p(value - min)`` instead of the value, so that values
        spread over orders of magnitude keep their relative differences;
        values within about one unit of the column minimum stay nearly
        linear.
    snap : bool
        When at least :data:`POINT_MASS_SHARE` of the training values equal
        the minimum (a point mass, such as loss rates or volumes that are
        exactly 0 most of the time), decoded values closer to the minimum
        than half the gap to the next training value become the minimum.
        A generator's continuous output comes near such a value but never
        hits it exactly; without this, none of the generated values would
        take it.
    """

    kind = "continuous"

    def __init__(self, name: str, log: bool = False, snap: bool = False) -> None:
        self.name = name
        self.log = bool(log)
        self.snap = bool(snap)
        self.min = 0.0
        self.max = 0.0
        self.integer = False
        self.dtype_state: Dict[str, Any] = {}
        #: Decoded values below ``min + snap_below`` become ``min`` (0: none).
        self.snap_below = 0.0

    def fit(self, values: pd.Series) -> "ContinuousColumn":
        """Learn the training range, dtype and any point mass at the minimum."""
        numbers = values.to_numpy(dtype=np.float64)
        self.min = float(numbers.min())
        self.max = float(numbers.max())
        if not np.isfinite(self.max - self.min):
            raise DataError(
                f"continuous column {self.name!r} spans [{self.min:g}, {self.max:g}], a range "
                "too wide for float64 arithmetic; rescale the column (e.g. divide by 1e300)"
            )
        self.integer = bool(pd.api.types.is_integer_dtype(values.dtype))
        self.dtype_state = _dtype_state(values.dtype)
        self.snap_below = 0.0
        at_min = numbers == self.min
        if self.snap and self.max > self.min and at_min.mean() >= POINT_MASS_SHARE:
            self.snap_below = float(numbers[~at_min].min() - self.min) / 2
        return self

    def snap_to_min(self, values: np.ndarray) -> np.ndarray:
        """Set decoded values within ``snap_below`` of the minimum to it, in place."""
        if self.snap_below > 0:
            np.copyto(values, self.min, where=values < self.min + self.snap_below)
        return values

    @property
    def dim(self) -> int:
        """Width of the encoded block (always 1)."""
        return 1

    def outputs(self, normalization: str) -> List[Output]:
        """The generator output block for this column."""
        return [Output(self.name, 1, continuous_activation(normalization))]

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Scale to [0, 1] by the training range (0 for a constant column)."""
        span = self.max - self.min
        if span <= 0:
            return np.zeros_like(values, dtype=np.float64)
        offset = np.asarray(values, dtype=np.float64) - self.min
        if self.log:
            # Odd extension of log1p: values below the training minimum (given
            # attributes are range-checked first) map below 0, never to NaN.
            return np.sign(offset) * np.log1p(np.abs(offset)) / np.log1p(span)
        return offset / span

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_unit`, clipped to the training range."""
        values = np.clip(unit, 0.0, 1.0)  # a new array, transformed in place from here
        if self.log:
            np.multiply(values, np.log1p(self.max - self.min), out=values)
            np.expm1(values, out=values)
        else:
            np.multiply(values, self.max - self.min, out=values)
        np.add(values, self.min, out=values)
        return np.clip(values, self.min, self.max, out=values)

    def from_scaled(self, values: np.ndarray, scale: "float | np.ndarray",
                    shift: "float | np.ndarray") -> np.ndarray:
        """``from_unit(values * scale + shift)``, computed in place in ``values``.

        ``values`` is a float64 array; ``scale`` and ``shift`` broadcast
        against it (per-series arrays, say). The unit values are not clipped
        to [0, 1] on their own: the map from unit to value is increasing, so
        the one clip to the training range at the end gives the same result
        up to rounding, with two passes fewer over millions of values.
        """
        if self.log:
            reach = np.log1p(self.max - self.min)
            np.multiply(values, scale * reach, out=values)
            np.add(values, shift * reach, out=values)
            np.expm1(values, out=values)
            np.add(values, self.min, out=values)
        else:
            span = self.max - self.min
            np.multiply(values, scale * span, out=values)
            np.add(values, shift * span + self.min, out=values)
        return np.clip(values, self.min, self.max, out=values)

    def check_range(self, values: pd.Series, where: str = "") -> None:
        """Refuse values outside the training range (used for given attributes)."""
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        outside = ~((numbers >= self.min) & (numbers <= self.max))
        if outside.any():
            raise DataError(
                f"column {self.name!r}{where} has value {plain(values.to_numpy()[outside][0])!r} "
                f"outside the training range [{self.min}, {self.max}]"
            )

    def encode(self, values: pd.Series, normalization: str, where: str = "",
               handle_unknown: str = "error") -> np.ndarray:
        """Scaled values, shape (n, 1); values outside the training range scale
        outside the output range."""
        unit = self.to_unit(values.to_numpy(dtype=np.float64))
        return to_output_space(unit, normalization)[:, None].astype(np.float32)

    def decode(self, block: np.ndarray, normalization: str) -> pd.Series:
        """Values of a (n, 1) block in the training dtype."""
        values = self.from_unit(from_output_space(block[:, 0].astype(np.float64), normalization))
        return self.restore(values)

    def restore(self, values: np.ndarray) -> pd.Series:
        """Give decoded float values the training dtype: snapped to a point mass at the
        minimum (see ``snap``), integer columns rounded."""
        values = self.snap_to_min(values)
        if self.integer:
            values = np.rint(values)
        return _restore_dtype(values, self.dtype_state)

    def to_state(self) -> Dict[str, Any]:
        """JSON-able description of the fitted column."""
        return {"kind": self.kind, "name": self.name, "min": self.min, "max": self.max,
                "integer": self.integer, "log": self.log, "snap": self.snap,
                "snap_below": self.snap_below, **self.dtype_state}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "ContinuousColumn":
        """Rebuild a fitted column from :meth:`to_state`."""
        # Files written before the log option have no "log" entry: linear; before the
        # snap option, no "snap_below": nothing snapped.
        column = cls(state["name"], log=state.get("log", False), snap=state.get("snap", False))
        column.snap_below = float(state.get("snap_below", 0.0))
        column.min, column.max = float(state["min"]), float(state["max"])
        column.integer = bool(state["integer"])
        column.dtype_state = {k: state[k] for k in ("dtype", "dtype_categories", "ordered")
                              if k in state}
        return column


class MinMaxScale:
    """How one continuous feature's per-series level and span reach the generator.

    Auto-normalisation generates two numbers per series (in the column's
    [0, 1] unit scale) as extra attributes: the span ``max - min`` and a
    level, which is the midrange ``(max + min) / 2`` for ``kind="unit"`` and
    ``kind="log"`` (as in the paper) and the minimum for ``kind="log_min"``.
    With ``kind="unit"`` both are generated as they are. With the log kinds
    each is mapped onto [0, 1] by

        ``log1p((v - low) / c) / log1p((high - low) / c)``,  ``c = high / 1000``,

    where ``low`` and ``high`` are its smallest and largest value over the
    training series: where most series sit near the bottom of a range that
    a few large series stretch, the map spreads them over the output
    instead of squeezing them into a sliver next to 0, and generated
    values stay within [low, high].

    The minimum as level matters for series whose lowest value is small
    next to their highest: from a midrange and a span it is their
    difference, two nearly equal numbers, so small relative errors in them
    become large ones in the minimum, which every record of the series
    carries; ``"log_min"`` generates it directly.

    ``kind="quantile"`` generates the minimum and the span too, each mapped
    onto [0, 1] by its empirical distribution over the training series
    (:data:`QUANTILE_POINTS` quantiles, linear between them): every part of
    the output holds as many training series as any other, wherever their
    values cluster (near zero, in the middle of the range), and a value
    that many series share, such as a span of 0 for series that are
    constant, takes a whole interval of the output, so that decoding any
    number in it gives that value exactly. A shared training value encodes
    to the middle of its interval. The table is part of a fitted model:
    with fewer training series than :data:`QUANTILE_POINTS` it holds every
    series' minimum and span (apart from the series' attributes and
    records), so the kind is refused under differential privacy.

    Parameters
    ----------
    kind : {"unit", "log", "log_min", "quantile"}
    """

    #: The accepted kinds.
    KINDS = MINMAX_SCALES
    #: ``c`` as a fraction of ``high``: values closer than this to ``low`` are
    #: mapped nearly linearly.
    RESOLUTION = 1e-3
    #: Quantiles stored per part for ``kind="quantile"``, at evenly spaced
    #: probabilities from 0 to 1.
    QUANTILE_POINTS = 1001

    def __init__(self, kind: str = "unit") -> None:
        self.kind = kind
        self.ranges: Dict[str, Tuple[float, float]] = {}
        self.quantiles: Dict[str, np.ndarray] = {}

    @property
    def parts(self) -> Tuple[str, str]:
        """Names of the two generated numbers: ``("mid", "span")`` or ``("min", "span")``."""
        return ("min", "span") if self.kind in ("log_min", "quantile") else ("mid", "span")

    def levels(self, lo: np.ndarray, hi: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The two numbers of :attr:`parts` for series with minima ``lo``, maxima ``hi``."""
        return (lo if self.parts[0] == "min" else (hi + lo) / 2), hi - lo

    def bounds(self, level: np.ndarray, span: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`levels`: per-series minima and maxima, clipped to [0, 1]."""
        if self.parts[0] == "min":
            lo, hi = level, level + span
        else:
            lo, hi = level - span / 2, level + span / 2
        return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)

    def fit(self, lo: np.ndarray, hi: np.ndarray) -> "MinMaxScale":
        """Learn how to map both parts, from the training series' minima and maxima.

        The log kinds learn each part's range, ``"quantile"`` each part's
        quantiles; ``"unit"`` learns nothing.
        """
        parts = dict(zip(self.parts, self.levels(lo, hi)))
        if self.kind == "quantile":
            probabilities = np.linspace(0.0, 1.0, self.QUANTILE_POINTS)
            self.quantiles = {part: np.quantile(np.asarray(v, np.float64), probabilities)
                              for part, v in parts.items()}
        elif self.kind != "unit":
            self.ranges = {part: (float(np.min(v)), float(np.max(v)))
                           for part, v in parts.items()}
        return self

    def _reach(self, part: str) -> Tuple[float, float, float]:
        low, high = self.ranges[part]
        offset = self.RESOLUTION * high
        return low, offset, float(np.log1p((high - low) / offset)) if high > low else 0.0

    def to_output(self, values: np.ndarray, part: str) -> np.ndarray:
        """Map the values of one of :attr:`parts` onto [0, 1].

        Values outside the training range (only the training data is
        mapped) are clipped to it.
        """
        if self.kind == "unit":
            return values
        if self.kind == "quantile":
            return _quantile_rank(np.asarray(values, np.float64), self.quantiles[part])
        low, offset, reach = self._reach(part)
        if reach == 0.0:  # every training series had the same value
            return np.zeros_like(values, dtype=np.float64)
        scaled = np.log1p(np.maximum(values - low, 0.0) / offset) / reach
        return np.minimum(scaled, 1.0)

    def from_output(self, scaled: np.ndarray, part: str) -> np.ndarray:
        """Inverse of :meth:`to_output` for values in [0, 1]."""
        if self.kind == "unit":
            return scaled
        if self.kind == "quantile":
            table = self.quantiles[part]
            return np.interp(scaled, np.linspace(0.0, 1.0, len(table)), table)
        low, offset, reach = self._reach(part)
        return low + offset * np.expm1(scaled * reach)

    def to_state(self) -> Dict[str, Any]:
        """JSON-able description."""
        return {"kind": self.kind, "ranges": {k: list(v) for k, v in self.ranges.items()},
                "quantiles": {k: v.tolist() for k, v in self.quantiles.items()}}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "MinMaxScale":
        """Inverse of :meth:`to_state`."""
        scale = cls(state["kind"])
        scale.ranges = {k: (float(v[0]), float(v[1])) for k, v in state["ranges"].items()}
        scale.quantiles = {k: np.asarray(v, np.float64)
                           for k, v in state.get("quantiles", {}).items()}
        return scale


def _quantile_rank(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Where ``values`` fall in a sorted quantile ``table`` at evenly spaced
    probabilities, as a probability in [0, 1].

    Between two different quantiles, linear; on a value the table holds
    several times (a point mass), the middle of their probabilities; outside
    the table, clipped to its ends.
    """
    step = 1.0 / (len(table) - 1)
    values = np.clip(values, table[0], table[-1])
    first = np.searchsorted(table, values, side="left")
    after = np.searchsorted(table, values, side="right")
    on_point = first < after
    # Not on a quantile: table[first - 1] < value < table[first].
    below = np.clip(first - 1, 0, len(table) - 1)
    above = np.clip(first, 0, len(table) - 1)
    gap = table[above] - table[below]
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (below + np.where(gap > 0, (values - table[below]) / gap, 0.0)) * step
    return np.where(on_point, (first + after - 1) / 2 * step, between)


def make_column(name: str, kind: str, log: bool = False,
                snap: bool = False) -> "CategoricalColumn | ContinuousColumn":
    """A fresh column transform for a schema kind (``log`` and ``snap`` for continuous ones)."""
    return CategoricalColumn(name) if kind == "categorical" else ContinuousColumn(name, log,
                                                                                   snap)


def column_from_state(state: Dict[str, Any]) -> "CategoricalColumn | ContinuousColumn":
    """Rebuild a fitted column transform from its state dict."""
    cls: Optional[type] = {"categorical": CategoricalColumn,
                           "continuous": ContinuousColumn}.get(state.get("kind"))
    if cls is None:
        raise DataError(f"unknown column kind {state.get('kind')!r} in saved encoder state")
    return cls.from_state(state)
