"""The steps of a fit, from checked parameters to a trainer ready to run.

:class:`~dgkeras.DGSynthesizer.fit` calls, in order, :func:`clean_training_data`
(with the checks that need the data), :func:`resolve_settings` (every
``"auto"`` chosen, in this one place), :func:`encode_training_data`,
:func:`build_trainer` (networks, DP settings, optimisers) and
:func:`training_callbacks` (progress, TensorBoard, checkpoints and the
user's callbacks, restoring a checkpoint when resuming). They take the
parameters as :func:`dgkeras.params.validate_params` returns them, resolved
from :func:`resolve_settings` on, and each part of the fit reads its own
group of them.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Dict, List, Mapping, Optional, TextIO, Tuple

import pandas as pd
import tensorflow as tf

from .callbacks import CallbackList, ProgressBar, TensorBoardLogger
from .checkpoints import Checkpointer, fingerprint
from .cleaning import prepare_frame
from .encoding import EncodedData, Encoder
from .exceptions import DataError, series_label
from .gan import DoppelGANger, NetworkConfig
from .params import (
    FitFacts,
    auto_choices,
    fit_seed,
    group,
    resolve_all,
    stored,
    trains_privately,
)
from .persistence import FittedModel
from .privacy import resolve_dp_settings
from .sampling import Request, Sampler
from .schema import CATEGORICAL, Schema
from .selection import GeneratorScore
from .training import Trainer, TrainingConfig


def clean_training_data(df: pd.DataFrame, schema: Schema,
                        params: Mapping[str, Any]) -> pd.DataFrame:
    """``df`` checked against ``schema`` and cleaned (a copy where anything changes).

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
    return df


def fit_facts(params: Mapping[str, Any], schema: Schema) -> FitFacts:
    """What the ``"auto"`` rules read about a fit of ``schema`` with ``params``."""
    categorical = tuple(c for c, kind in schema.attributes.items() if kind == CATEGORICAL)
    return FitFacts(private=trains_privately(params), categorical_attributes=categorical)


def resolve_settings(params: Mapping[str, Any], schema: Schema,
                     stream: Optional[TextIO] = None) -> Dict[str, Any]:
    """The fit's parameters with every ``"auto"`` chosen; printed when ``verbose >= 1``.

    Parameters
    ----------
    params : mapping
        Validated parameters.
    schema : Schema
    stream : file-like, optional
        Where the choices are printed; default ``sys.stderr``, beside the
        progress bar.

    Returns
    -------
    dict
        Every parameter, as the fit uses it.
    """
    facts = fit_facts(params, schema)
    resolved = resolve_all(params, facts)
    choices = auto_choices(params, resolved, facts)
    if params["verbose"] and choices:
        lines = "".join(f"\n  {name}={text}" for name, text in choices.items())
        print(f"dgkeras: 'auto' settings chosen:{lines}", file=stream or sys.stderr, flush=True)
    return resolved


def encode_training_data(df: pd.DataFrame, schema: Schema,
                         params: Mapping[str, Any]) -> Tuple[Encoder, EncodedData]:
    """Fit the encoder on cleaned data (:func:`clean_training_data`) and encode it.

    ``params`` are resolved (:func:`resolve_settings`).
    """
    encoder = Encoder(schema, **group(params, "encoder")).fit(df)
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

    ``params`` are resolved (:func:`resolve_settings`).

    Raises
    ------
    DataError
        On DP settings the data cannot support (see
        :func:`dgkeras.privacy.resolve_dp_settings`).
    """
    training = group(params, "training")
    critic_steps = training.pop("critic_steps")
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


def generator_score(params: Mapping[str, Any], encoder: Encoder, data: EncodedData,
                    trainer: Trainer) -> Optional[GeneratorScore]:
    """The score the trainer keeps the best generator by, or None without
    ``keep_best_every``.

    ``params`` are resolved (:func:`resolve_settings`). The generator is
    called as :meth:`DGSynthesizer.sample` calls it.
    """
    if params["keep_best_every"] is None:
        return None
    sampler = Sampler(encoder, trainer.model, params["strategy"])

    def generate(n: int, seed: int) -> tuple:
        return sampler.generate(Request(n, None, None, None, seed))

    return GeneratorScore(encoder, _arrays(data), generate, seed=trainer.config.seed)


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


def fitted_model(trainer: Trainer, encoder: Encoder, data: EncodedData,
                 resolved: Mapping[str, Any]) -> FittedModel:
    """What the trainer's finished epochs have learned, as the estimator keeps it.

    ``resolved`` are the parameters as the fit used them (:func:`resolve_settings`).
    """
    return FittedModel(encoder, trainer.model, trainer.history, trainer.config.dp,
                       data.n_series, stored(resolved, drop=True))
