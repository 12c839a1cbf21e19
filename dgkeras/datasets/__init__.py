"""Small real datasets shipped with dgkeras."""

from __future__ import annotations

from importlib import resources
from typing import Tuple

import numpy as np
import pandas as pd

from ..schema import Schema

MBA_RECORDS_PER_HOME = 56


def load_fcc_mba(with_time: bool = True) -> Tuple[pd.DataFrame, Schema]:
    """The FCC Measuring Broadband America data of the DoppelGANger paper.

    600 homes x 56 six-hour records (2017-10-01..10-15): features
    ``traffic_byte_counter`` and ``ping_loss_rate`` (scaled to [0, 1] by the
    publishers), attributes ``isp``, ``technology``, ``state``. Provenance and
    licence: ``dgkeras/datasets/data/PROVENANCE.txt``.

    Parameters
    ----------
    with_time : bool, default=True
        Add a ``period`` column with the 6-hour timestamps.

    Returns
    -------
    df : pandas.DataFrame
        Long data, one row per record, with a ``home_id`` series key.
    schema : Schema
    """
    with resources.files(__package__).joinpath("data", "fcc_mba.csv").open("rb") as f:
        raw = pd.read_csv(f)
    n_homes = len(raw) // MBA_RECORDS_PER_HOME
    df = pd.DataFrame({"home_id": np.repeat(np.arange(n_homes), MBA_RECORDS_PER_HOME)})
    if with_time:
        grid = pd.date_range("2017-10-01", periods=MBA_RECORDS_PER_HOME, freq="6h")
        df["period"] = np.tile(grid.to_numpy(), n_homes)
    for column in raw.columns:
        df[column] = raw[column].to_numpy()
        df[column] = df[column].astype(raw[column].dtype)
    schema = Schema(
        id_column="home_id",
        time_column="period" if with_time else None,
        attributes={"isp": "categorical", "technology": "categorical", "state": "categorical"},
        features={"traffic_byte_counter": "continuous", "ping_loss_rate": "continuous"},
    )
    return df, schema
