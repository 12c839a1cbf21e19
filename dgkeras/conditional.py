"""Complete partly given attributes by sampling the model's own attribute distribution.

``sample(attributes=frame)`` with only some attribute columns asks for series
whose given attributes take the given values and whose other attributes
follow the model's distribution *given* those values. The attribute
generator is unconditional, so :func:`complete_attributes` samples from it
and keeps candidates that agree with each request (rejection sampling):

* given **categorical** values must match exactly; each request takes a
  different matching candidate, so the other attributes follow the model's
  conditional distribution exactly;
* given **continuous** values are matched approximately: among the
  candidates that agree on the categorical values, the one whose continuous
  values lie nearest (in units of the training range) is taken, and the
  given values then replace its own.

Limits: a combination the model (almost) never generates cannot be
completed. After ``max_candidates`` candidates the request fails with a
DataError that names the combination. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from .columns import CategoricalColumn, from_output_space
from .exceptions import DataError
from .metrics import nearest_distances

#: Candidates drawn per round, and at most in all.
ROUND_SIZE = 20_000
MAX_CANDIDATES = 2_000_000


def complete_attributes(
    encoder,
    partial: pd.DataFrame,
    generate: Callable[[int], np.ndarray],
    rng: np.random.Generator,
    max_candidates: Optional[int] = None,
) -> np.ndarray:
    """Encoded attributes (n, A) agreeing with ``partial``, the rest from the model.

    Parameters
    ----------
    encoder : dgkeras.encoding.Encoder
        The fitted encoder.
    partial : pandas.DataFrame
        One row per series, holding some of the attribute columns, already
        checked (known categories, continuous values in the training range).
    generate : callable
        ``generate(m)`` returns ``m`` candidate encoded attribute rows.
    rng : numpy.random.Generator
        For choosing among matching candidates.
    max_candidates : int, optional
        Give up after this many candidates; default ``MAX_CANDIDATES``.

    Returns
    -------
    numpy.ndarray
        Shape (n, A); the given continuous values are written into it.

    Raises
    ------
    DataError
        Naming a combination of given values that the model did not
        generate within ``max_candidates`` candidates.
    """
    max_candidates = MAX_CANDIDATES if max_candidates is None else max_candidates
    columns = [c for c in encoder.attribute_columns_ if c.name in partial.columns]
    slices = encoder.attribute_slices()
    categorical = [c for c in columns if isinstance(c, CategoricalColumn)]
    continuous = [c for c in columns if not isinstance(c, CategoricalColumn)]
    wanted_keys = _keys([c.codes(partial[c.name].reset_index(drop=True)) for c in categorical],
                        len(partial))
    wanted_units = np.stack([c.to_unit(partial[c.name].to_numpy(dtype=np.float64))
                             for c in continuous], axis=1) if continuous else None
    pending = _group_rows(wanted_keys)
    out = np.zeros((len(partial), sum(c.dim for c in encoder.attribute_columns_)), np.float32)
    drawn = 0
    while pending and drawn < max_candidates:
        candidates = generate(ROUND_SIZE)
        drawn += len(candidates)
        keys = _keys([np.argmax(candidates[:, slices[c.name]], axis=1) for c in categorical],
                     len(candidates))
        for key, matches in _group_rows(keys, keep=pending).items():
            _take(candidates, matches, pending, key, out, continuous, wanted_units, encoder, rng)
    if pending:
        raise _too_rare(pending, partial, categorical, drawn)
    for column in continuous:
        out[:, slices[column.name]] = column.encode(partial[column.name].reset_index(drop=True),
                                                    encoder.normalization)
    return out


def _too_rare(pending: Dict[Tuple, List[int]], partial: pd.DataFrame, categorical: list,
              drawn: int) -> DataError:
    """The error for requests left unfilled after ``drawn`` candidates, naming the first."""
    rows = next(iter(pending.values()))
    values = {c.name: partial[c.name].iloc[rows[0]] for c in categorical}
    return DataError(
        f"the model generated no series with attributes {values} in {drawn} tries "
        f"({sum(map(len, pending.values()))} requested series unfilled): the combination "
        "is too rare under the model. Give all attribute columns to force it, or "
        "choose values the model generates")


def _group_rows(keys: List[Tuple], keep: Optional[Dict] = None) -> Dict[Tuple, List[int]]:
    """Row numbers by key, in order; only keys in ``keep`` when it is given."""
    groups: Dict[Tuple, List[int]] = {}
    for row, key in enumerate(keys):
        if keep is None or key in keep:
            groups.setdefault(key, []).append(row)
    return groups


def _take(candidates: np.ndarray, matches: List[int], pending: Dict[Tuple, List[int]],
          key: Tuple, out: np.ndarray, continuous: list, wanted_units: Optional[np.ndarray],
          encoder, rng: np.random.Generator) -> None:
    """Fill requests for ``key`` from the candidates that ``matches`` names, in place.

    With given continuous values, every request takes its nearest candidate
    (candidates may repeat); otherwise distinct candidates are drawn at random.
    """
    rows = pending[key]
    slices = encoder.attribute_slices()
    if continuous:
        units = np.stack([from_output_space(candidates[matches, slices[c.name]][:, 0],
                                            encoder.normalization)
                          for c in continuous], axis=1)
        _, nearest = nearest_distances(wanted_units[rows], units, return_index=True)
        chosen = np.asarray(matches)[nearest]
        taken = len(rows)
    else:
        taken = min(len(rows), len(matches))
        chosen = rng.choice(matches, size=taken, replace=False)
    out[rows[:taken]] = candidates[chosen]
    del rows[:taken]
    if not rows:
        del pending[key]


def _keys(codes: List[np.ndarray], n: int) -> List[Tuple]:
    """One hashable key per row from per-column integer codes."""
    if not codes:
        return [()] * n
    return list(zip(*(c.tolist() for c in codes)))


def refit_rows(encoder: Any, attributes: pd.DataFrame) -> np.ndarray:
    """Check and encode the attribute rows of :meth:`DGSynthesizer.refit_attributes`.

    Parameters
    ----------
    encoder : Encoder
        Fitted.
    attributes : pandas.DataFrame
        One row per series with every attribute column, or a long frame with
        the id column (its first row per series is taken).

    Returns
    -------
    ndarray, shape (n, A)

    Raises
    ------
    DataError
        For a model without attributes, an empty or incomplete frame, missing
        continuous values, unknown categories or values out of range.
    """
    schema = encoder.schema
    names = list(schema.attributes)
    if not names:
        raise DataError("the model was fitted without attribute columns; there is "
                        "nothing to refit")
    if not isinstance(attributes, pd.DataFrame) or len(attributes) == 0:
        raise DataError("attributes must be a non-empty pandas DataFrame")
    missing = [c for c in names if c not in attributes.columns]
    if missing:
        raise DataError(f"attributes frame lacks attribute columns {missing}")
    if schema.id_column in attributes.columns:
        attributes = attributes.groupby(schema.id_column, sort=False)[names].first()
    frame = attributes[names].reset_index(drop=True)
    for column, kind in schema.attributes.items():
        if kind == "continuous" and frame[column].isna().any():
            raise DataError(f"attributes column {column!r} has missing values")
    return encoder.encode_attributes(frame, check_range=True)
