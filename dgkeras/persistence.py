"""A single-file model format that holds no executable code: JSON + arrays.

The file is a NumPy ``.npz`` archive read with ``allow_pickle=False``. It has
one member ``meta.json`` (a UTF-8 JSON document stored as a byte array) and
one member per weight array, named ``weights/<network>/<index>``. ``meta``
carries the format version, the package version, the estimator parameters,
the fitted encoder state, the network configuration and the history.
Writing goes to a temporary file in the target folder and is renamed into
place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any, Dict, List, Tuple

import numpy as np

from .exceptions import DataError

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
