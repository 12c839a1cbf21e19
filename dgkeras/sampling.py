"""Generating series from a fitted model: noise, batching, given attributes, decoding.

A :class:`Sampler` turns a request (how many series, optionally their
attributes or a forced length, a seed) into generator calls and decodes
their outputs with the fitted encoder, as a long DataFrame, as arrays or as
bounded chunks. The noise is drawn ``noise_block`` series at a time, in
order, so a seed gives the same series however many are asked for and
however many go through one network call; with several calls, the next is
generated on a worker thread while the current one is decoded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

import numpy as np
import pandas as pd

from .conditional import complete_attributes
from .encoding import Encoder
from .exceptions import DataError
from .gan import DoppelGANger
from .params import is_integer

#: Sampling noise is drawn in blocks of this many series, in order; fixed so
#: that a seed gives the same output however many series are asked for and
#: however many go through one network call.
NOISE_BLOCK = 1000
#: Most series per generator call when sampling, a multiple of NOISE_BLOCK:
#: larger calls keep both cores of a small CPU busy in the LSTM (see
#: docs/speed.rst).
SAMPLE_BATCH = 5000
#: Most series times LSTM steps per generator call. The LSTM's per-step
#: tensors are what a call holds in memory, so long series go through in
#: smaller calls: on the web-traffic shape (55 steps), calls of 2,000 series
#: peaked 270 to 310 MB lower than calls of 5,000, at the same speed.
SAMPLE_LSTM_STEPS = 120_000
#: Seed offset of the noise that completes partly given attributes, so that it
#: differs from the series noise of the same ``random_state``.
_COMPLETION_STREAM = 7


class SampleArrays(NamedTuple):
    """Generated series as arrays, one row per series (from :meth:`DGSynthesizer.sample_arrays`).

    Attributes
    ----------
    attributes : pandas.DataFrame
        One row per series: the new series id (when the schema has an id
        column) and the attribute columns, in the training dtypes.
    features : dict of str to ndarray, shape (n, T)
        Each feature column, T being the fitted ``max_sequence_len_``:
        continuous ones as float64 with NaN after the series' end (integer
        columns hold rounded values), categorical ones as object arrays with
        None after the end.
    lengths : ndarray of int64, shape (n,)
        Records of each series.
    times : pandas.Series or None
        The time grid, ``max_sequence_len_`` values in the training dtype:
        record ``j`` of every series is at ``times[j]``. None without a
        time column.
    """

    attributes: pd.DataFrame
    features: Dict[str, np.ndarray]
    lengths: np.ndarray
    times: Optional[pd.Series]


@dataclass(frozen=True)
class Request:
    """A checked sampling request.

    Attributes
    ----------
    n : int
        Series to generate.
    given : pandas.DataFrame or None
        Their attribute values, one row per series, when given.
    encoded : ndarray or None
        The same attributes encoded for the generator.
    length : int or None
        Forced length of every series.
    random_state : int or None
    """

    n: int
    given: Optional[pd.DataFrame]
    encoded: Optional[np.ndarray]
    length: Optional[int]
    random_state: Optional[int]


def check_chunk_size(chunk_size: Any) -> None:
    """Refuse a ``chunk_size`` that is not a positive integer (DataError)."""
    if not is_integer(chunk_size) or chunk_size < 1:
        raise DataError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def local_strategy(strategy: Optional[Any]) -> Optional[Any]:
    """``strategy`` when all its replicas are on this machine (MirroredStrategy), else None."""
    if strategy is None or len(strategy.extended.worker_devices) < \
            strategy.num_replicas_in_sync:
        return None
    return strategy


def series_per_call(n_steps: int, noise_block: int = NOISE_BLOCK) -> int:
    """Series per generator call for an LSTM of ``n_steps`` steps.

    The most multiples of ``noise_block`` up to :data:`SAMPLE_BATCH` whose
    series times steps stay within :data:`SAMPLE_LSTM_STEPS`, and at least
    one block.
    """
    blocks = min(SAMPLE_BATCH, SAMPLE_LSTM_STEPS // max(int(n_steps), 1)) // noise_block
    return noise_block * max(blocks, 1)


class Sampler:
    """Generates and decodes series from a fitted encoder and model.

    Parameters
    ----------
    encoder : Encoder
        Fitted.
    model : DoppelGANger
        Trained.
    strategy : tf.distribute.Strategy, optional
        Spread generator calls over its local replicas.
    noise_block : int
        Series per noise draw.
    batch : int, optional
        Series per generator call, a multiple of ``noise_block``; by default
        from :func:`series_per_call`. The output for a seed depends on
        neither.
    """

    def __init__(self, encoder: Encoder, model: DoppelGANger, strategy: Optional[Any] = None,
                 noise_block: int = NOISE_BLOCK, batch: Optional[int] = None) -> None:
        self.encoder = encoder
        self.model = model
        self.strategy = local_strategy(strategy)
        self.noise_block = noise_block
        self.batch = series_per_call(model.config.n_steps, noise_block) if batch is None \
            else batch

    # ------------------------------------------------------------ requests
    def request(self, n: Optional[int], attributes: Optional[pd.DataFrame],
                length: Optional[int], random_state: Optional[int]) -> Request:
        """Check the arguments of a sampling call; complete partly given attributes.

        Raises
        ------
        DataError
            On an invalid ``n``, ``attributes`` or ``length``.
        """
        given = encoded = None
        if attributes is not None:
            given = self._given_attributes(attributes, n)
            n = len(given)
            if len(given.columns) < len(self.encoder.schema.attributes):
                given, encoded = self._complete_attributes(given, random_state)
            else:
                encoded = self.encoder.encode_attributes(given, check_range=True)
        if n is None:
            raise DataError("sampling needs n, the number of series, or an attributes frame")
        if not is_integer(n) or n < 1:
            raise DataError(f"n must be a positive integer number of series, got {n!r}")
        max_len = self.encoder.max_len_
        if length is not None and (not is_integer(length) or not 1 <= length <= max_len):
            raise DataError(f"length must be an integer in [1, max_sequence_len_={max_len}], "
                            f"got {length!r}")
        return Request(int(n), given, encoded, None if length is None else int(length),
                       random_state)

    def _given_attributes(self, attributes: pd.DataFrame, n: Optional[int]) -> pd.DataFrame:
        if not isinstance(attributes, pd.DataFrame):
            raise DataError(f"attributes must be a pandas DataFrame, got "
                            f"{type(attributes).__name__}")
        kinds = self.encoder.schema.attributes
        if not kinds:
            raise DataError("the model was fitted without attribute columns, so attributes "
                            "cannot be given")
        names = [c for c in kinds if c in attributes.columns]
        if not names:
            raise DataError(f"attributes frame has none of the attribute columns {list(kinds)}")
        if len(attributes) == 0:
            raise DataError("attributes frame is empty: give one row per series to generate")
        if n is not None and n != len(attributes):
            raise DataError(f"n={n} does not match the {len(attributes)} rows of attributes")
        for column in names:
            if attributes[column].isna().any() and kinds[column] != "categorical":
                raise DataError(f"attributes column {column!r} has missing values")
        return attributes[names].reset_index(drop=True)

    def _complete_attributes(self, partial: pd.DataFrame, random_state: Optional[int]):
        """Given some attribute columns, draw the others from the model's conditional."""
        encoder = self.encoder
        # Refuse unknown categories and out-of-range values before any sampling.
        for column in encoder.attribute_columns_:
            if column.name not in partial.columns:
                continue
            if column.kind == "continuous":
                column.check_range(partial[column.name], " (given attributes)")
            else:
                column.codes(partial[column.name], " (given attributes)")
        rng = np.random.default_rng(None if random_state is None
                                    else [random_state, _COMPLETION_STREAM])
        noise_dim = self.model.config.attribute_noise_dim

        def generate(m: int) -> np.ndarray:
            noise = rng.standard_normal((m, noise_dim), dtype=np.float32)
            return self.model.sample_attribute_arrays(noise)

        encoded = complete_attributes(encoder, partial, generate, rng)
        given = encoder.decode_attributes(encoded)
        dtypes = given.dtypes.to_dict()
        for column in partial.columns:  # exactly the values asked for, in the training dtype
            given[column] = partial[column].to_numpy()
        return given.astype(dtypes), encoded

    # --------------------------------------------------------------- results
    def frame(self, request: Request) -> pd.DataFrame:
        """All requested series as one long DataFrame."""
        return self.decode(self.generate(request), request, 0)

    def arrays(self, request: Request) -> SampleArrays:
        """All requested series as arrays, each block decoded while the next is generated.

        Raises
        ------
        DataError
            For a model fitted with ``time_mode="learned"``, whose series
            have times of their own.
        """
        encoder, n = self.encoder, request.n
        if encoder.learned_time_ is not None:
            raise DataError("sample_arrays needs a common time grid, and this model was fitted "
                            "with time_mode='learned'; use sample() for series with their "
                            "own times")
        features = encoder.empty_feature_arrays(n)
        lengths = np.empty(n, dtype=np.int64)
        tables: List[pd.DataFrame] = []
        start = 0
        for attrs, minmax, records in self.blocks(request):
            rows = slice(start, start + len(records))
            lengths[rows] = self.lengths(records, request.length)
            tables.append(encoder.inverse_transform_arrays(
                attrs, minmax, records, lengths[rows],
                None if request.given is None else request.given.iloc[rows],
                out={name: array[rows] for name, array in features.items()})[0])
            start = rows.stop
        table = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
        if encoder.schema.id_column is not None:
            table.insert(0, encoder.schema.id_column, encoder.new_ids(n))
        times = (None if encoder.time_grid_ is None
                 else encoder.time_grid_.take(np.arange(encoder.max_len_)))
        return SampleArrays(table, features, lengths, times)

    def chunks(self, request: Request, chunk_size: int) -> Iterator[pd.DataFrame]:
        """The requested series as DataFrames of ``chunk_size`` series (the last fewer)."""
        buffer: Optional[tuple] = None
        offset = 0
        for block in self.blocks(request):
            buffer = block if buffer is None else tuple(
                np.concatenate([a, b], axis=0) for a, b in zip(buffer, block))
            while len(buffer[0]) >= chunk_size:
                head = tuple(a[:chunk_size] for a in buffer)
                buffer = tuple(a[chunk_size:] for a in buffer)
                yield self.decode(head, request, offset)
                offset += chunk_size
        if buffer is not None and len(buffer[0]):
            yield self.decode(buffer, request, offset)

    # ------------------------------------------------------------ generation
    def generate(self, request: Request) -> tuple:
        """Raw generator outputs (attributes, min/max, records) for all requested series."""
        n = request.n
        if n <= self.batch:  # one block: its arrays as they are
            return next(self.blocks(request))
        arrays: List[np.ndarray] = []
        start = 0
        for block in self.blocks(request):
            if not arrays:  # one array per output for all n series: a single copy
                arrays = [np.empty((n,) + a.shape[1:], a.dtype) for a in block]
            for whole, part in zip(arrays, block):
                whole[start:start + len(part)] = part
            start += len(block[0])
        return tuple(arrays)

    def blocks(self, request: Request) -> Iterator[tuple]:
        """Raw generator outputs in blocks of at most ``batch`` series.

        The arrays are read-only views of the generator's output, not
        copies. With several blocks, the next block is generated on a
        worker thread while the caller works on the current one
        (TensorFlow releases the GIL), and its noise is drawn while the
        block before it is generated. Every block's output depends on its
        noise only, so this changes no values.
        """
        n, given, strategy = request.n, request.encoded, self.strategy
        rng = np.random.default_rng(request.random_state)
        blocks = ((start, self.noise(rng, start, min(start + self.batch, n)))
                  for start in range(0, n, self.batch))

        def run(start: int, noise: List[np.ndarray]) -> tuple:
            part = None if given is None else given[start:start + len(noise[0])]
            return self.model.sample_arrays(*noise, given_attributes=part, strategy=strategy)

        if n <= self.batch or strategy is not None:
            # One block has nothing to overlap; a distribution strategy keeps to the
            # thread that entered it.
            for start, noise in blocks:
                yield run(start, noise)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dgkeras-sample") as pool:
            pending = pool.submit(run, *next(blocks))
            for start, noise in blocks:  # drawn while the pending block is generated
                upcoming = pool.submit(run, start, noise)
                yield pending.result()
                pending = upcoming
            yield pending.result()

    def noise(self, rng: np.random.Generator, start: int, stop: int) -> List[np.ndarray]:
        """The three noise inputs for series start..stop, drawn ``noise_block`` at a time."""
        draws = []
        for block in range(start, stop, self.noise_block):
            shapes = self.model.config.noise_shapes(min(self.noise_block, stop - block))
            draws.append([rng.standard_normal(shape, dtype=np.float32) for shape in shapes])
        return [np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*draws)]

    # -------------------------------------------------------------- decoding
    def decode(self, arrays: tuple, request: Request, offset: int) -> pd.DataFrame:
        """Generator outputs of the series from ``offset`` on, as a long DataFrame."""
        attrs, minmax, records = arrays
        n = len(records)
        lengths = self.lengths(records, request.length)
        given = None if request.given is None else request.given.iloc[offset:offset + n]
        return self.encoder.inverse_transform(attrs, minmax, records, lengths, given,
                                              id_offset=offset)

    def lengths(self, records: np.ndarray, length: Optional[int]) -> np.ndarray:
        """Records per generated series: ``length`` when forced, else the encoder's."""
        if length is not None:
            return np.full(len(records), int(length), dtype=np.int64)
        return self.encoder.generated_lengths(records)
