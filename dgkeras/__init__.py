"""dgkeras: DoppelGANger synthetic time series with metadata, on TensorFlow/Keras.

Examples
--------
>>> from dgkeras import DGSynthesizer
>>> from dgkeras.datasets import load_fcc_mba
>>> df, schema = load_fcc_mba()
>>> synth = DGSynthesizer(epochs=400).fit(df, schema)  # doctest: +SKIP
>>> fake = synth.sample(1000)                           # doctest: +SKIP
"""

from typing import Any

from ._version import __version__
from .exceptions import DataError, TrainingDivergedError
from .schema import Schema

__all__ = ["DGSynthesizer", "DataError", "Schema", "TrainingDivergedError", "__version__"]


def __getattr__(name: str) -> Any:
    # TensorFlow is imported on first use of the estimator, so that schemas,
    # readers and the command line's own start-up do not pay for it.
    if name == "DGSynthesizer":
        from .synthesizer import DGSynthesizer

        return DGSynthesizer
    raise AttributeError(f"module 'dgkeras' has no attribute {name!r}")
