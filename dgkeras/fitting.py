"""The steps of a fit, from checked parameters to a trainer ready to run.

:class:`~dgkeras.DGSynthesizer.fit` calls, in order, :func:`encode_training_data`
(cleaning and encoding, with the checks that need the data),
:func:`build_trainer` (networks, DP settings, optimisers) and
:func:`training_callbacks` (progress, TensorBoard, checkpoints and the
user's callbacks, restoring a checkpoint when resuming). Each takes the
parameters as :func:`dgkeras.params.validate_params` returns them, and each
part of the fit reads its own group of them.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pandas as pd
import tensorflow as tf

from .callbacks import CallbackList, ProgressBar, TensorBoardLogger
from .checkpoints import Checkpointer, fingerprint
from .cleaning import prepare_frame
from .encoding import EncodedData, Encoder
from .exceptions import DataError, series_label
from .gan import DoppelGANger, NetworkConfig
from .params import (
    fit_seed,
    group,
    resolve_critic_steps,
    resolve_snap_to_minimum,
    trains_privately,
)
from .persistence import FittedModel
from .privacy import resolve_dp_settings
from .schema import Schema
from .training import Trainer, TrainingConfig


def encode_training_data(df: pd.DataFrame, schema: Schema,
                         params: Mapping[str, Any]) -> Tuple[Encoder, EncodedData]:
    """Clean ``df`` (a copy where anything changes), fit the encoder, encode.

    Raises
    ------
    DataError
        If the data does not match the schema, cannot be repaired, or holds
        a single series.
    """
    df = prepare_frame(df, schema, params["max_sequence_len"], **group(params, "data"))
    ignored = [c for c in df.columns if c not in set(schema.columns)]
    if ignored:
        # stacklevel: the user's call of fit.
        warnings.warn(f"columns {ignored} are not in the schema and are not modelled; "
                      "they will not appear in sampled data", UserWarning, stacklevel=3)
    _refuse_a_single_series(df, schema)
    settings = group(params, "encoder")
    settings["snap_to_minimum"] = resolve_snap_to_minimum(settings["snap_to_minimum"],
                                                          trains_privately(params))
    encoder = Encoder(schema, **settings).fit(df)
    return encoder, encoder.transform(df)


def _refuse_a_single_series(df: pd.DataFrame, schema: Schema) -> None:
    if schema.id_column is None:
        raise DataError(
            "the schema has no id_column, so the whole frame is one series: a GAN trained "
            "on one series can only reproduce it, which is a copy, not synthetic data; "
            "name the column that tells the series apart as id_column")
    keys = df[schema.id_column].unique()
    if len(keys) < 2:
        raise DataError(
            f"id column {schema.id_column!r} has one value ({series_label(keys[0])}): a GAN "
            "trained on one series can only reproduce it, which is a copy, not synthetic "
            "data; fit on many series")


def build_trainer(params: Mapping[str, Any], encoder: Encoder, n_series: int) -> Trainer:
    """The networks for ``encoder``'s layout and their trainer, under the fit's strategy.

    Raises
    ------
    DataError
        On DP settings the data cannot support (see
        :func:`dgkeras.privacy.resolve_dp_settings`).
    """
    training = group(params, "training")
    critic_steps = resolve_critic_steps(training.pop("critic_steps"), trains_privately(params))
    dp_params = group(params, "dp")
    dp = resolve_dp_settings(
        noise_source=dp_params.pop("dp_noise_source"), **dp_params, n_series=n_series,
        batch_size=params["batch_size"], epochs=params["epochs"], critic_steps=critic_steps)
    seed = fit_seed(training.pop("random_state"))
    config = NetworkConfig(
        attribute_outputs=encoder.attribute_outputs, minmax_outputs=encoder.minmax_outputs,
        feature_outputs=encoder.feature_outputs,
        n_steps=encoder.padded_len_ // encoder.sample_len_, sample_len=encoder.sample_len_,
        seed=seed, **group(params, "network"))
    strategy = params["strategy"] or tf.distribute.get_strategy()
    with strategy.scope():
        model = DoppelGANger(config)
    return Trainer(model, TrainingConfig(**training, critic_steps=critic_steps, seed=seed, dp=dp),
                   n_series=n_series, strategy=strategy)


def training_callbacks(params: Mapping[str, Any], raw_params: Mapping[str, Any],
                       estimator: Any, trainer: Trainer, data: EncodedData, encoder: Encoder,
                       resume: bool) -> Tuple[int, Optional[pd.DataFrame], CallbackList]:
    """Restore a checkpoint if asked; build progress, TensorBoard, checkpoint and user callbacks.

    Parameters
    ----------
    params : mapping
        Validated parameters.
    raw_params : mapping
        The estimator's ``get_params()``, from which a checkpoint's
        fingerprint is computed.
    estimator : DGSynthesizer
        The model the callbacks are told of.

    Returns
    -------
    initial_epoch : int
    initial_history : pandas.DataFrame or None
    callbacks : CallbackList
    """
    callbacks: List[Any] = []
    initial_epoch, initial_history = 0, None
    if params["checkpoint_dir"] is not None:
        checkpointer = Checkpointer(params["checkpoint_dir"], params["checkpoint_every"],
                                    trainer, fingerprint(_arrays(data),
                                                         _fingerprinted(raw_params, encoder)))
        if resume:
            restored = checkpointer.restore()
            if restored is not None:
                initial_epoch, initial_history = restored
        callbacks.append(checkpointer)
    elif resume:
        raise DataError("resume=True needs checkpoint_dir, the folder of the checkpoints")
    if params["verbose"]:
        callbacks.insert(0, ProgressBar(params["epochs"], params["verbose"],
                                        initial_epoch=initial_epoch))
    if params["log_dir"] is not None:
        callbacks.append(TensorBoardLogger(params["log_dir"]))
    callbacks += params["callbacks"]
    return initial_epoch, initial_history, CallbackList(callbacks, model=estimator)


def _arrays(data: EncodedData) -> tuple:
    return data.attributes, data.minmax, data.features


def _fingerprinted(raw_params: Mapping[str, Any], encoder: Encoder) -> Dict[str, Any]:
    """What a checkpoint must match: the parameters that shape training and the
    encoder's ranges (data scaled by a constant encodes the same)."""
    run = group(raw_params, "run")
    settings = {k: v for k, v in raw_params.items() if k not in run}
    settings["encoder"] = encoder.to_state()
    return settings


def fitted_model(trainer: Trainer, encoder: Encoder, data: EncodedData) -> FittedModel:
    """What the trainer's finished epochs have learned, as the estimator keeps it."""
    return FittedModel(encoder, trainer.model, trainer.history, trainer.config.dp,
                       data.n_series)
