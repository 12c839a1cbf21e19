"""dgkeras: DoppelGANger synthetic time series with metadata, on TensorFlow/Keras.

Examples
--------
>>> from dgkeras import DGSynthesizer
>>> from dgkeras.datasets import load_fcc_mba
>>> df, schema = load_fcc_mba()
>>> synth = DGSynthesizer(epochs=400).fit(df, schema)  # doctest: +SKIP
>>> fake = synth.sample(1000)                           # doctest: +SKIP
"""

from ._version import __version__
from .exceptions import DataError
from .schema import Schema
from .synthesizer import DGSynthesizer

__all__ = ["DGSynthesizer", "DataError", "Schema", "__version__"]
