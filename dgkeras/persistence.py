"""A single-file model format that holds no executable code: JSON + arrays.

The file is a NumPy ``.npz`` archive read with ``allow_pickle=False``. It has
one member ``meta.json`` (a UTF-8 JSON document stored as a byte array) and
one member per weight array, named ``weights/<network>/<index>``. ``meta``
carries the format version, the package version, the estimator parameters,
the fitted encoder state, the network configuration and the history.
Writing goes to a temporary file in the target folder and is renamed into
place, so a crash never leaves a half-written model.

:class:`FittedModel` is what a fit leaves behind and what a file or a pickle
holds: the encoder, the networks, the history, the DP settings and the number
of training series. The estimator's saving, loading and pickling go through
it, so the stored form is defined here once.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import pandas as pd

from ._version import __version__
from .encoding import Encoder
from .exceptions import DataError
from .gan import DoppelGANger, NetworkConfig
from .params import PARAMETERS, FitFacts, predated, resolve_all, stored
from .privacy import DPSettings

FORMAT_NAME = "dgkeras-model"
FORMAT_VERSION = 1
_META = "meta.json"
_WEIGHT_PREFIX = "weights/"


def write_model_file(path: "str | os.PathLike", meta: Dict[str, Any],
                     weights: Dict[str, List[np.ndarray]]) -> None:
    """Write ``meta`` and ``weights`` atomically to ``path``.

    Parameters
    ----------
    path : str or path-like
        Destination; an existing file is replaced only once the new one is
        complete.
    meta : dict
        JSON-serialisable description; ``format`` and ``format_version`` are
        added.
    weights : dict of str to list of ndarray
        Weights per network.
    """
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **meta}
    arrays = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for network, values in weights.items():
        for i, value in enumerate(values):
            arrays[f"{_WEIGHT_PREFIX}{network}/{i}"] = np.asarray(value)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=".dgkeras-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the
        # permissions of any new file, as the model is meant to be shared.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_model_file(
    path: "str | os.PathLike",
) -> Tuple[Dict[str, Any], Dict[str, List[np.ndarray]]]:
    """Read a file written by :func:`write_model_file`, never unpickling anything.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    meta : dict
    weights : dict of str to list of ndarray

    Raises
    ------
    DataError
        If the file is not a dgkeras model, is corrupt or truncated, or was
        written by a newer format version.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            if _META not in archive.files:
                raise DataError(f"{path!r} is not a dgkeras model file: it has no {_META}")
            meta = json.loads(archive[_META].tobytes().decode("utf-8"))
            arrays = {name: archive[name] for name in archive.files if name != _META}
    except DataError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise DataError(f"{path!r} is not a readable dgkeras model file "
                        f"(corrupt or truncated): {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise DataError(f"{path!r} is not a dgkeras model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(
            f"{path!r} uses model format version {version!r}, newer than the "
            f"{FORMAT_VERSION} this dgkeras reads; upgrade dgkeras to load it")
    weights: Dict[str, Dict[int, np.ndarray]] = {}
    for name, value in arrays.items():
        if not name.startswith(_WEIGHT_PREFIX):
            raise DataError(f"{path!r} has an unexpected member {name!r}")
        network, index = name[len(_WEIGHT_PREFIX):].rsplit("/", 1)
        weights.setdefault(network, {})[int(index)] = value
    ordered = {net: [values[i] for i in sorted(values)] for net, values in weights.items()}
    return meta, ordered


@dataclass
class FittedModel:
    """Everything a fit learns, in the form files and pickles store it.

    Attributes
    ----------
    encoder : Encoder
        Fitted.
    model : DoppelGANger
        Trained networks.
    history : pandas.DataFrame
        One row per epoch.
    dp : DPSettings or None
        The fit's DP-SGD settings.
    n_series : int
        Number of training series.
    resolved_params : dict
        The parameters as the fit used them, every ``"auto"`` chosen
        (:func:`dgkeras.fitting.resolve_settings`).
    """

    encoder: Encoder
    model: DoppelGANger
    history: pd.DataFrame
    dp: Optional[DPSettings]
    n_series: int
    resolved_params: Dict[str, Any]

    def estimator_attributes(self) -> Dict[str, Any]:
        """The fitted attributes of :class:`~dgkeras.DGSynthesizer` (``encoder_`` ...)."""
        dp = self.dp
        return {
            "encoder_": self.encoder, "model_": self.model, "schema_": self.encoder.schema,
            "history_": self.history, "dp_settings_": dp,
            "epsilon_": None if dp is None else dp.epsilon,
            "noise_multiplier_": None if dp is None else dp.noise_multiplier,
            "delta_": None if dp is None else dp.delta,
            "n_series_": int(self.n_series), "sample_len_": self.encoder.sample_len_,
            "max_sequence_len_": self.encoder.max_len_,
            "resolved_params_": dict(self.resolved_params),
        }

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> "FittedModel":
        """The fitted state held in a fitted estimator's attributes (its ``__dict__``)."""
        return cls(attributes["encoder_"], attributes["model_"], attributes["history_"],
                   attributes["dp_settings_"], attributes["n_series_"],
                   attributes["resolved_params_"])

    def meta(self) -> Dict[str, Any]:
        """JSON-able description of everything but the weights."""
        return {
            "package_version": __version__,
            "encoder": self.encoder.to_state(),
            "network": self.model.config.to_dict(),
            "history": {k: [float(v) for v in self.history[k]] for k in self.history.columns},
            "dp_settings_": None if self.dp is None else asdict(self.dp),
            "n_series_": self.n_series,
            "resolved_params_": _json_params(self.resolved_params),
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], weights: Dict[str, List[np.ndarray]],
                  params: Mapping[str, Any]) -> "FittedModel":
        """Rebuild from :meth:`meta` and the networks' weights.

        ``params`` are the estimator's stored parameters, from which a model
        saved before ``resolved_params_`` was recorded gets it.
        """
        model = DoppelGANger(NetworkConfig.from_dict(meta["network"]))
        model.set_weights(weights)
        dp = meta["dp_settings_"]
        if dp is not None:
            # Models saved before the noise source was recorded had TensorFlow Privacy's.
            dp = DPSettings(**{"noise_source": "tf-privacy", **dp})
        recorded = meta.get("resolved_params_")
        resolved = {} if recorded is None else _params_from_json(recorded, normalized=True)
        # A model saved before resolved_params_ was recorded, or before some parameter
        # existed, gets the value the rules give to what it lacks (and only that: a
        # rule may import TensorFlow Privacy).
        missing = {k: v for k, v in params.items() if k not in resolved}
        resolved = {**_resolved_before_recorded(missing, dp), **resolved}
        return cls(Encoder.from_state(meta["encoder"]), model, pd.DataFrame(meta["history"]),
                   dp, meta["n_series_"], resolved)


def _resolved_before_recorded(params: Mapping[str, Any],
                              dp: Optional[DPSettings]) -> Dict[str, Any]:
    """The resolved values of ``params``, for a model saved before they were
    recorded (or before some of the parameters existed).

    Its "auto" rules needed no data (only whether the fit was private), and
    its noise source is the one its DP settings hold.
    """
    resolved = resolve_all(stored(params, drop=True), FitFacts(private=dp is not None))
    if dp is not None:
        resolved["dp_noise_source"] = dp.noise_source
    return resolved


def _json_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Parameters in JSON form: tuples as lists, a ``numpy`` Generator as None."""
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in stored(params).items()}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a Generator is not data
    return params


def _params_from_json(params: Mapping[str, Any], normalized: bool = False) -> Dict[str, Any]:
    """The inverse of :func:`_json_params` (lists back to tuples where a parameter has them).

    ``normalized``: the parameters were stored in the form
    :func:`dgkeras.params.validate_params` gives (column lists as tuples).
    """
    def restore(name: str, value: Any) -> Any:
        constraint = PARAMETERS[name].constraint
        value = constraint.from_json(value)
        return constraint.normalize(value) if normalized else value

    return {k: restore(k, v) if k in PARAMETERS else v for k, v in params.items()}


def save_model(path: "str | os.PathLike", params: Mapping[str, Any],
               fitted: FittedModel) -> None:
    """Write an estimator's parameters and fitted state with :func:`write_model_file`."""
    write_model_file(path, {"params": _json_params(params), **fitted.meta()},
                     fitted.model.get_weights())


def load_model(path: "str | os.PathLike", estimator_class: type) -> Tuple[Any, FittedModel]:
    """Read what :func:`save_model` wrote.

    Returns
    -------
    estimator : estimator_class
        Built from the saved parameters (those the file predates get their
        defaults), not yet fitted.
    fitted : FittedModel

    Raises
    ------
    DataError
        If the file is not a readable dgkeras model, or is incomplete.
    """
    meta, weights = read_model_file(path)
    try:
        params = _params_from_json({**predated(meta["params"]), **meta["params"]})
        return estimator_class(**params), FittedModel.from_meta(meta, weights, params)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{os.fspath(path)!r} holds an incomplete or inconsistent dgkeras "
                        f"model: {exc}") from exc


def pickle_state(attributes: Mapping[str, Any]) -> Dict[str, Any]:
    """What an estimator pickles: its parameters and plain data of its fitted state.

    Keras objects and tf.functions do not pickle, and data survives library
    upgrades where class layouts do not; callbacks and a distribution
    strategy are objects, not data, and are dropped.
    """
    state = stored({k: v for k, v in attributes.items() if k in PARAMETERS})
    state["_dgkeras_version"] = __version__
    if "model_" in attributes:
        fitted = FittedModel.of(attributes)
        state["_fitted_meta"] = fitted.meta()
        state["_weights"] = fitted.model.get_weights()
    return state


def unpickle_state(state: Mapping[str, Any],
                   default_params: Mapping[str, Any]) -> Dict[str, Any]:
    """The estimator attributes of a :func:`pickle_state` (parameters and fitted state).

    ``default_params`` are the estimator's defaults, for parameters the
    pickle predates.
    """
    state = dict(state)
    meta = state.pop("_fitted_meta", None)
    weights = state.pop("_weights", None)
    state.pop("_dgkeras_version", None)
    if meta is not None:
        params = {**default_params, **predated(state), **state}
        state.update(FittedModel.from_meta(meta, weights, params).estimator_attributes())
    return state

