"""Shared fixtures: small real data and small, fast model settings."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dgkeras import DGSynthesizer, Schema  # noqa: E402
from dgkeras.datasets import load_fcc_mba  # noqa: E402
from dgkeras.encoding import Encoder  # noqa: E402
from dgkeras.gan import NetworkConfig  # noqa: E402
from dgkeras.io import read_sktime_ts  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"

#: Networks small enough for a test fit to take a few seconds on 2 cores.
SMALL = dict(attribute_units=(16, 16), lstm_units=16, critic_units=(32, 32), verbose=0)


class StopAfter:
    """Asks the fit to stop after a given epoch, as Keras' EarlyStopping does."""

    def __init__(self, epoch):
        self.epoch = epoch

    def set_model(self, model):
        self.model = model

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            self.model.stop_training = True


@pytest.fixture(scope="session")
def mba():
    """The bundled FCC MBA data and its schema."""
    return load_fcc_mba()


@pytest.fixture(scope="session")
def plaid():
    """33 PLAID series of lengths 200..1000 with an appliance-class attribute."""
    return read_sktime_ts(DATA / "plaid_subset.ts")


def mixed_frame(n_series=12, seed=0, lengths=(3, 9)):
    """Series of varying length with int, bool, category and str features, no attributes."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        for t in range(int(rng.integers(lengths[0], lengths[1] + 1))):
            rows.append((f"s{s}", t, int(rng.integers(-5, 50)), bool(rng.random() < 0.3),
                         str(rng.choice(["lo", "mid", "hi"])), ["a", "b", "c"][t % 3],
                         float(rng.normal(100, 20))))
    df = pd.DataFrame(rows, columns=["sid", "t", "count", "flag", "level", "code", "load"])
    df["level"] = df["level"].astype(pd.CategoricalDtype(["lo", "mid", "hi", "unused"]))
    df["code"] = df["code"].astype(object)
    schema = Schema("sid", "t", {}, {"count": "continuous", "flag": "categorical",
                                     "level": "categorical", "code": "categorical",
                                     "load": "continuous"})
    return df, schema


def attribute_frame(n_series=30, seed=1, length=6):
    """Fixed-length series with a categorical, a bool and a continuous int attribute."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        region, premium, size = str(rng.choice(["n", "s", "e"])), bool(s % 2), int(s % 7) * 10
        for t in range(length):
            rows.append((100 + s, t, region, premium, size, float(rng.gamma(2.0)) + size))
    df = pd.DataFrame(rows, columns=["id", "t", "region", "premium", "size", "usage"])
    schema = Schema("id", "t", {"region": "categorical", "premium": "categorical",
                                "size": "continuous"}, {"usage": "continuous"})
    return df, schema


def attribute_networks(critic_units):
    """Encoded :func:`attribute_frame` data and the config of small networks for it
    (for tests that drive the Trainer directly)."""
    df, schema = attribute_frame()
    encoder = Encoder(schema).fit(df)
    config = NetworkConfig(encoder.attribute_outputs, encoder.minmax_outputs,
                           encoder.feature_outputs, encoder.padded_len_ // encoder.sample_len_,
                           encoder.sample_len_, attribute_units=(16,), lstm_units=8,
                           critic_units=critic_units, seed=3)
    return encoder.transform(df), config


@pytest.fixture(scope="session")
def fitted_mixed():
    """A model fitted on variable-length mixed-dtype data without attributes."""
    df, schema = mixed_frame()
    synth = DGSynthesizer(epochs=2, batch_size=5, random_state=0, **SMALL).fit(df, schema)
    return synth, df, schema


@pytest.fixture(scope="session")
def fitted_attributes():
    """A model fitted on data with categorical, bool and continuous attributes."""
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=2, batch_size=8, random_state=0, **SMALL).fit(df, schema)
    return synth, df, schema
