"""The description of a long time-series DataFrame: which column plays which role.

A :class:`Schema` names the series-key column, the optional time column, the
attribute columns (one value per series) and the feature columns (one value per
record), each with a kind, ``"categorical"`` or ``"continuous"``.
:meth:`Schema.validate` checks a DataFrame against it and raises
:class:`~dgkeras.DataError` naming the column, the series and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

import numpy as np
import pandas as pd

from .exceptions import DataError, plain, series_label

CATEGORICAL = "categorical"
CONTINUOUS = "continuous"
KINDS = (CATEGORICAL, CONTINUOUS)

_DICT_KEYS = {"id_column", "time_column", "attributes", "features"}


def _check_kinds(role: str, columns: Mapping[str, str]) -> Dict[str, str]:
    if not isinstance(columns, Mapping):
        raise DataError(
            f"schema {role} must be a mapping of column name to kind, got {type(columns).__name__}"
        )
    checked = {}
    for name, kind in columns.items():
        _check_name(role[:-1], name)
        if kind not in KINDS:
            raise DataError(
                f"schema {role[:-1]} column {name!r} has unknown kind {kind!r}; "
                f"use one of {list(KINDS)}"
            )
        checked[name] = kind
    return checked


def _check_name(role: str, name: Any) -> None:
    # Names travel through JSON (schema files, saved models), whose keys are strings.
    if not isinstance(name, str):
        raise DataError(
            f"{role} column name {name!r} is a {type(name).__name__}, not a string; "
            "rename the columns first, e.g. df.columns = df.columns.map(str)"
        )


@dataclass
class Schema:
    """Roles and kinds of the columns of a long time-series DataFrame.

    Parameters
    ----------
    id_column : str or None
        Column holding the series key. Required when ``attributes`` is not
        empty. Without it the whole frame is one series, which
        ``DGSynthesizer.fit`` refuses (a model of one series can only
        copy it).
    time_column : str or None
        Column used to order the records of a series. Without it, the rows of
        a series are taken in the order they appear.
    attributes : dict
        Attribute (metadata) columns, constant within a series, mapped to
        ``"categorical"`` or ``"continuous"``. May be empty.
    features : dict
        Feature (measurement) columns mapped to ``"categorical"`` or
        ``"continuous"``. Must not be empty.

    Examples
    --------
    >>> schema = Schema(id_column="page", time_column="date",
    ...                 attributes={"domain": "categorical"},
    ...                 features={"views": "continuous"})
    >>> Schema.from_dict(schema.to_dict()) == schema
    True
    """

    id_column: Optional[str] = None
    time_column: Optional[str] = None
    attributes: Dict[str, str] = field(default_factory=dict)
    features: Dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.attributes = _check_kinds("attributes", self.attributes)
        self.features = _check_kinds("features", self.features)
        if not self.features:
            raise DataError("schema has no feature columns; at least one is required")
        if self.attributes and self.id_column is None:
            raise DataError(
                "schema has attribute columns but no id_column: attributes are per series, "
                "so the series key column must be named"
            )
        for role in ("id_column", "time_column"):
            if getattr(self, role) is not None:
                _check_name(role[:-7], getattr(self, role))
        roles: Dict[Any, str] = {}
        named = [("id_column", self.id_column), ("time_column", self.time_column)]
        named += [("attribute", c) for c in self.attributes]
        named += [("feature", c) for c in self.features]
        for role, column in named:
            if column is None:
                continue
            if column in roles:
                raise DataError(
                    f"column {column!r} is given two roles in the schema: "
                    f"{roles[column]} and {role}"
                )
            roles[column] = role

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> Dict[str, Any]:
        """Return a JSON-serialisable dict; :meth:`from_dict` reverses it.

        Returns
        -------
        dict
            Keys ``id_column``, ``time_column``, ``attributes``, ``features``.
        """
        return {
            "id_column": self.id_column,
            "time_column": self.time_column,
            "attributes": dict(self.attributes),
            "features": dict(self.features),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Schema":
        """Build a schema from a dict in :meth:`to_dict` form.

        Parameters
        ----------
        data : dict
            Keys ``id_column``, ``time_column``, ``attributes``, ``features``;
            the first three may be missing.

        Returns
        -------
        Schema

        Raises
        ------
        DataError
            On unknown keys or kinds.
        """
        if isinstance(data, Schema):
            return data
        if not isinstance(data, Mapping):
            raise DataError(f"a schema must be a Schema or a dict, got {type(data).__name__}")
        unknown = set(data) - _DICT_KEYS
        if unknown:
            raise DataError(
                f"schema dict has unknown keys {sorted(map(str, unknown))}; "
                f"allowed keys are {sorted(_DICT_KEYS)}"
            )
        return cls(
            id_column=data.get("id_column"),
            time_column=data.get("time_column"),
            attributes=dict(data.get("attributes") or {}),
            features=dict(data.get("features") or {}),
        )

    # ------------------------------------------------------------------ infer
    @classmethod
    def infer(
        cls,
        df: pd.DataFrame,
        id_column: Optional[str] = None,
        time_column: Optional[str] = None,
    ) -> "Schema":
        """Guess roles and kinds from a DataFrame.

        Columns constant within every series become attributes, the others
        features. Numeric columns (int or float, not bool) are continuous,
        all others categorical. Review the result before fitting: an integer
        code column, for instance, is better declared categorical.

        Parameters
        ----------
        df : pandas.DataFrame
            Long data, one row per record.
        id_column, time_column : str, optional
            The series key and time columns.

        Returns
        -------
        Schema
        """
        _check_frame(df)
        for column in df.columns:
            _check_name("DataFrame", column)
        for role, column in (("id_column", id_column), ("time_column", time_column)):
            if column is not None and column not in df.columns:
                raise DataError(f"{role} {column!r} is not a column of the DataFrame")
        attributes: Dict[str, str] = {}
        features: Dict[str, str] = {}
        grouped = df.groupby(id_column, sort=False, dropna=False) if id_column is not None else None
        for column in df.columns:
            if column in (id_column, time_column):
                continue
            kind = infer_kind(df[column])
            is_attribute = (
                grouped is not None
                and bool((grouped[column].nunique(dropna=False) <= 1).all())
            )
            (attributes if is_attribute else features)[column] = kind
        if not features:
            raise DataError(
                "every column is constant within each series, so none can be a feature; "
                "give the schema explicitly"
            )
        return cls(id_column, time_column, attributes, features)

    # --------------------------------------------------------------- validate
    @property
    def columns(self) -> list:
        """All columns the schema names, in role order (id, time, attributes, features)."""
        cols = [c for c in (self.id_column, self.time_column) if c is not None]
        return cols + list(self.attributes) + list(self.features)

    @property
    def continuous_features(self) -> list:
        """The continuous feature columns, in schema order."""
        return [c for c, kind in self.features.items() if kind == CONTINUOUS]

    def validate(self, df: pd.DataFrame) -> None:
        """Check that a DataFrame can be fitted with this schema.

        Missing values (NaN/None) are allowed where they have a meaning:
        in categorical columns, where they form a category of their own,
        and in continuous features, where they are gaps that
        :func:`dgkeras.cleaning.prepare_frame` fills in.

        Parameters
        ----------
        df : pandas.DataFrame
            Long data, one row per record.

        Raises
        ------
        DataError
            Naming the column, the series and the problem: missing or
            duplicated columns, missing series keys or timestamps, missing
            continuous attributes, infinite values, non-numeric values in a
            continuous column, attributes that vary within a series,
            duplicated timestamps within a series.
        """
        _check_frame(df)
        duplicated = df.columns[df.columns.duplicated()].unique().tolist()
        if duplicated:
            raise DataError(f"DataFrame has duplicated column names {duplicated}")
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise DataError(f"columns {missing} named by the schema are not in the DataFrame")
        series = df[self.id_column] if self.id_column is not None else None
        if series is not None and series.isna().any():
            raise DataError(
                f"id column {self.id_column!r} has missing values at rows "
                f"{_first_rows(series.isna())}"
            )
        for column, kind in self.attributes.items():
            _check_values(df[column], column, kind, series, missing_allowed=kind == CATEGORICAL)
        for column, kind in self.features.items():
            _check_values(df[column], column, kind, series, missing_allowed=True)
        if self.attributes:
            varying = df.groupby(self.id_column, sort=False)[list(self.attributes)].nunique(
                dropna=False)
            for column in self.attributes:
                bad = varying.index[varying[column] > 1]
                if len(bad):
                    raise DataError(
                        f"attribute column {column!r} varies within {series_label(bad[0])} "
                        f"(and {len(bad) - 1} other series); attributes must be constant "
                        "within a series, or be declared as features"
                    )
        if self.time_column is not None:
            _check_time(df, self.time_column, series)


def infer_kind(values: pd.Series) -> str:
    """Return ``"continuous"`` for int/float columns, ``"categorical"`` otherwise."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return CONTINUOUS
    return CATEGORICAL


def _check_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DataError("the DataFrame is empty: it has no rows")


def _first_rows(mask: pd.Series, k: int = 3) -> list:
    return mask.index[mask.to_numpy()].tolist()[:k]


def _series_of(mask: pd.Series, series: Optional[pd.Series]) -> str:
    if series is None:
        return "the single series"
    return series_label(series[mask].iloc[0])


def _check_values(values: pd.Series, column: str, kind: str, series: Optional[pd.Series],
                  missing_allowed: bool) -> None:
    missing = values.isna()
    if missing.any() and not missing_allowed:
        raise DataError(
            f"continuous attribute column {column!r} has missing values (NaN/None) in "
            f"{_series_of(missing, series)} at rows {_first_rows(missing)}; fill them in, drop "
            "those series, or declare the column categorical to make 'missing' a category"
        )
    if kind != CONTINUOUS:
        return
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        numeric = pd.to_numeric(values, errors="coerce")
        bad = numeric.isna() & ~missing
        if pd.api.types.is_bool_dtype(values.dtype) or bad.any():
            where = bad if bad.any() else pd.Series(True, index=values.index)
            raise DataError(
                f"continuous column {column!r} holds non-numeric values "
                f"(dtype {values.dtype}, e.g. {plain(values[where].iloc[0])!r} in "
                f"{_series_of(where, series)}); convert it to numbers or declare it categorical"
            )
        values = numeric
    infinite = pd.Series(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)),
                         index=values.index)
    if infinite.any():
        raise DataError(
            f"column {column!r} has infinite values in {_series_of(infinite, series)} "
            f"at rows {_first_rows(infinite)}"
        )


def _check_time(df: pd.DataFrame, column: str, series: Optional[pd.Series]) -> None:
    times = df[column]
    missing = times.isna()
    if missing.any():
        raise DataError(
            f"time column {column!r} has missing values in {_series_of(missing, series)} "
            f"at rows {_first_rows(missing)}"
        )
    keys = [series, times] if series is not None else [times]
    duplicated = pd.Series(pd.MultiIndex.from_arrays(keys).duplicated(), index=df.index)
    if duplicated.any():
        raise DataError(
            f"time column {column!r} has duplicated timestamps within "
            f"{_series_of(duplicated, series)}, e.g. {plain(times[duplicated].iloc[0])!r}"
        )
