"""DGSynthesizer: the scikit-learn-style DoppelGANger estimator."""

from __future__ import annotations

import gzip
import inspect
import numbers
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Union,
)

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._version import __version__
from .callbacks import CallbackList, ProgressBar, TensorBoardLogger
from .checkpoints import Checkpointer, fingerprint
from .cleaning import prepare_frame
from .conditional import complete_attributes
from .dp_noise import check_noise_source
from .encoding import Encoder
from .exceptions import DataError, TrainingDivergedError
from .gan import DoppelGANger, NetworkConfig
from .persistence import read_model_file, write_model_file
from .privacy import DPSettings, resolve_dp_settings
from .schema import Schema
from .training import Trainer, TrainingConfig, refit_attribute_generator

#: Sampling noise is drawn in blocks of this many series, in order; fixed so
#: that a seed gives the same output however many series are asked for and
#: however many go through one network call.
NOISE_BLOCK = 1000
#: Series per compiled generator call when sampling, a multiple of
#: NOISE_BLOCK. Larger calls keep both cores of a small CPU busy in the LSTM
#: (wwt shape, 10,000 series, before XLA: 10.4k series/s at 1,000 per call, 15.8k
#: at 5,000; with XLA 33k at 4,096 or 5,000, 30k at 2,048).
SAMPLE_BATCH = 5000

_TUPLE_PARAMS = ("attribute_units", "critic_units")
#: Parameters that change how a fit reports and saves itself, not what it learns.
_RUN_PARAMS = ("verbose", "callbacks", "log_dir", "checkpoint_dir", "checkpoint_every",
               "strategy")
#: Parameters holding objects rather than data: not saved, not pickled.
_OBJECT_PARAMS = ("callbacks", "strategy")


class SampleArrays(NamedTuple):
    """Generated series as arrays, one row per series (from :meth:`DGSynthesizer.sample_arrays`).

    Attributes
    ----------
    attributes : pandas.DataFrame
        One row per series: the new series id (when the schema has an id
        column) and the attribute columns, in the training dtypes.
    features : dict of str to ndarray, shape (n, T)
        Each feature column, T being the fitted ``max_sequence_len_``:
        continuous ones as float64 with NaN after the series' end (integer
        columns hold rounded values), categorical ones as object arrays with
        None after the end.
    lengths : ndarray of int64, shape (n,)
        Records of each series.
    times : pandas.Series or None
        The time grid, ``max_sequence_len_`` values in the training dtype:
        record ``j`` of every series is at ``times[j]``. None without a
        time column.
    """

    attributes: pd.DataFrame
    features: Dict[str, np.ndarray]
    lengths: np.ndarray
    times: Optional[pd.Series]


class DGSynthesizer(BaseEstimator):
    """DoppelGANger: a GAN for time series with metadata (Lin et al., IMC 2020).

    Learns P(attributes) and P(records | attributes) from a long DataFrame and
    generates new series with the same columns and dtypes.

    Parameters
    ----------
    sample_len : int or None, default=None
        Records emitted per LSTM step (the paper's S). None picks the
        smallest S with ``max_sequence_len / S <= 50``.
    max_sequence_len : int or None, default=None
        Longest series the model generates; None takes the longest training
        series.
    epochs : int, default=400
        Passes over the training series.
    batch_size : int, default=100
        Series per training step; capped at the number of series.
    attribute_noise_dim, feature_noise_dim : int, default=5
        Noise widths of the attribute and min/max generators, and per LSTM
        step of the feature generator.
    attribute_units : tuple of int, default=(100, 100, 100)
        Hidden layers of the attribute and min/max generators.
    lstm_units, lstm_layers : int, default=100, 1
        Size of the feature generator's LSTM.
    critic_units : tuple of int, default=(200,) * 5
        Hidden layers of both critics.
    generator_lr, critic_lr, beta_1 : float, default=1e-3, 1e-3, 0.5
        Adam settings.
    gp_weight : float, default=10.0
        Gradient penalty weight of both critics.
    aux_critic : bool, default=True
        Train the auxiliary critic on attributes (+ min/max) alone.
    aux_critic_weight : float, default=1.0
        Weight of the auxiliary critic in the generator loss (paper's alpha).
    auto_normalize : bool, default=True
        Scale each series' continuous features by its own min/max and
        generate those as fake attributes (paper Sec. 4.2).
    normalization : {"zero_one", "minus_one_one"}, default="zero_one"
        Output range of continuous values: sigmoid [0, 1] or tanh [-1, 1].
    time_mode : {"grid", "learned"}, default="grid"
        "grid": every generated series takes the times of a longest
        training series (the common grid). "learned": each series' start
        time and the gaps between its records are generated too, for data
        without a common grid; datetime and numeric time columns (see
        :mod:`dgkeras.timing`).
    log_columns : list of str or None, default=None
        Continuous columns to model on a log scale (``log1p`` of the
        distance from the column's minimum): for measurements that span
        orders of magnitude (traffic volumes, page views), so that small
        and large series are generated with the same relative precision.
    minmax_scale : {"unit", "log", "log_min"}, default="unit"
        How auto-normalisation's per-series level and span are generated:
        "unit" the midrange and span as they are (as in the paper), "log"
        both on a log scale fitted to the training series, which spreads
        out series that sit near the bottom of a wide range, "log_min" the
        minimum and span on that scale, which keeps the minimum of series
        whose lowest value is small next to their highest from being the
        difference of two nearly equal generated numbers (see
        :class:`dgkeras.columns.MinMaxScale`).
    critic_steps : int or "auto", default="auto"
        Critic updates per training step. "auto" is 5 without differential
        privacy and 1 with it: a critic trained further per generator update
        keeps the generator from collapsing onto a few attribute values (on
        MBA it halved the W1 of the series totals, at about 1.5 times the
        training time; see the hyperparameter guide), while under DP every
        extra critic update spends privacy budget.
    generator_steps : int, default=1
        Generator updates per training step.
    packing : int, default=1
        Samples each critic judges at once (PacGAN, the original
        DoppelGANger code's ``num_packing``): with m > 1 the critics see m
        real or m generated series side by side, which lets them notice a
        generator that keeps producing the same kind of series. The batch is
        cut to a multiple of m (times the number of replicas). Not
        available with DP, whose guarantee is per series.
    ema_decay : float or None, default=None
        Sample with an exponential moving average of the generators' weights
        over the epochs rather than with their last weights: after each
        epoch the average becomes ``ema_decay * average + (1 - ema_decay) *
        weights``. GAN weights keep circling rather than settling, and the
        average is steadier from one seed to the next; 0.98 averages over
        about the last 50 epochs. None (or 0) uses the last weights. See
        :doc:`hyperparameters` for what it changes on real data.
    marginal_weight : float, default=0.0
        Weight of a term in the generator's loss that pulls each categorical
        attribute's generated value shares towards the value frequencies of
        the training series (their KL divergence over each training step's
        generated batch). A critic's gradient on a value fades with the
        value's generated probability, so a rare value the generator has
        dropped never comes back; this term's gradient does not fade (see
        :mod:`dgkeras.marginals`). On PLAID 1.0 generated every appliance
        class on every seed tried, where the defaults dropped one to three
        of 11; see :doc:`hyperparameters` for what it costs elsewhere. Not
        available with DP: the frequencies are read without noise.
    epsilon : float or None, default=None
        Privacy budget: turns on DP-SGD for the two critics (the only
        networks that read real data), with the noise multiplier computed
        from (epsilon, delta, n_series, batch_size, epochs, critic_steps).
        See :mod:`dgkeras.privacy` for the mechanism and accounting.
    delta : float or None, default=None
        DP delta; None gives ``1 / (10 * n_series)``. Must be below 1/n.
    l2_norm_clip : float, default=1.0
        Per-series gradient norm bound of DP-SGD.
    noise_multiplier : float or None, default=None
        Give the DP-SGD noise multiplier directly instead of ``epsilon``;
        ``epsilon_`` then reports what it spends.
    dp_noise_source : {"auto", "dgkeras", "tf-privacy"}, default="auto"
        Where DP-SGD's Gaussian noise is drawn: by dgkeras from the fit's
        seed (a DP fit is then reproducible from ``random_state``), or by
        TensorFlow Privacy's ``GaussianSumQuery`` (not reproducible; imports
        only on the ``dgkeras[tf-privacy]`` stack, TensorFlow 2.15 on Python
        3.10/3.11). "auto" takes TensorFlow Privacy where it imports. Same
        distribution and accounting either way (see :mod:`dgkeras.dp_noise`);
        ``dp_settings_.noise_source`` says which a fit used.
    callbacks : list, optional
        Keras-style callbacks: objects with ``on_train_begin(logs)``,
        ``on_epoch_end(epoch, logs)`` and/or ``on_train_end(logs)`` (see
        :mod:`dgkeras.callbacks`). A callback that sets ``model.stop_training
        = True`` ends the fit after that epoch.
    log_dir : str, optional
        Write each epoch's losses as TensorBoard scalars to this folder.
    checkpoint_dir : str, optional
        Save a checkpoint here every ``checkpoint_every`` epochs and at the
        end; ``fit(..., resume=True)`` continues from the newest one.
    checkpoint_every : int, default=10
        Epochs between checkpoints.
    strategy : tf.distribute.Strategy, optional
        Train on several devices or machines, e.g.
        ``tf.distribute.MirroredStrategy()`` or
        ``tf.distribute.MultiWorkerMirroredStrategy()``. ``batch_size`` is
        the global batch, split across the replicas; the same seed gives
        the same training path on any number of replicas (see
        :doc:`/distributed`). Default: one device.
    steps_per_call : int, default=10
        Train steps run by one call of the compiled step function (at most
        an epoch's). More than 1 saves the per-call overhead, which weighs
        on small models and on GPUs; the updates are the same as with 1.
    mixed_precision : bool, default=False
        Compute the hidden layers (MLPs, LSTM) in float16 with float32
        variables, outputs and losses, and loss-scaled optimizers: for
        GPUs with tensor cores; on CPUs float16 is emulated and about 100x
        slower. Not available with DP.
    invalid_series : {"error", "drop"}, default="error"
        A series whose continuous feature is missing (NaN) in every record
        cannot be filled in: raise DataError, or drop it with a warning.
        Isolated gaps are always filled by linear interpolation within the
        series (see :mod:`dgkeras.cleaning`).
    long_series : {"error", "truncate", "split"}, default="error"
        A series longer than ``max_sequence_len``: raise DataError, keep its
        first ``max_sequence_len`` records, or cut it into consecutive
        series of at most that length (same attributes).
    max_categories : int, default=1000
        Most distinct values a categorical column may have; more are
        refused with advice, as their one-hot block would swamp the networks.
    random_state : int or None, default=None
        Seed of weights, noise and shuffling.
    verbose : int, default=1
        0 silent; 1 a progress bar over epochs with the current losses, on
        stderr (redrawn in place on a terminal, a line per 10% otherwise);
        2 one line per epoch.

    Attributes
    ----------
    schema_ : Schema
        The schema the model was fitted with.
    history_ : pandas.DataFrame
        One row per epoch: ``critic_loss``, ``aux_critic_loss``,
        ``generator_loss``, ``seconds``.
    epsilon_ : float or None
        Privacy budget actually spent (None without DP).
    noise_multiplier_, delta_ : float or None
        The DP-SGD noise multiplier per critic update and the delta in use.
    n_series_ : int
        Number of training series.
    sample_len_, max_sequence_len_ : int
        The S and T in use.

    Examples
    --------
    >>> from dgkeras import DGSynthesizer
    >>> from dgkeras.datasets import load_fcc_mba
    >>> df, schema = load_fcc_mba()
    >>> synth = DGSynthesizer(epochs=2, verbose=0, random_state=0).fit(df, schema)
    >>> synth.sample(3, random_state=0)["home_id"].nunique()
    3
    """

    def __init__(
        self,
        sample_len: Optional[int] = None,
        max_sequence_len: Optional[int] = None,
        epochs: int = 400,
        batch_size: int = 100,
        attribute_noise_dim: int = 5,
        feature_noise_dim: int = 5,
        attribute_units: Sequence[int] = (100, 100, 100),
        lstm_units: int = 100,
        lstm_layers: int = 1,
        critic_units: Sequence[int] = (200, 200, 200, 200, 200),
        generator_lr: float = 1e-3,
        critic_lr: float = 1e-3,
        beta_1: float = 0.5,
        gp_weight: float = 10.0,
        aux_critic: bool = True,
        aux_critic_weight: float = 1.0,
        auto_normalize: bool = True,
        normalization: str = "zero_one",
        time_mode: str = "grid",
        log_columns: Optional[Sequence[str]] = None,
        minmax_scale: str = "unit",
        critic_steps: "int | str" = "auto",
        generator_steps: int = 1,
        packing: int = 1,
        ema_decay: Optional[float] = None,
        marginal_weight: float = 0.0,
        epsilon: Optional[float] = None,
        delta: Optional[float] = None,
        l2_norm_clip: float = 1.0,
        noise_multiplier: Optional[float] = None,
        dp_noise_source: str = "auto",
        callbacks: Optional[Sequence[Any]] = None,
        log_dir: Optional[str] = None,
        checkpoint_dir: Optional[str] = None,
        checkpoint_every: int = 10,
        strategy: Optional[Any] = None,
        steps_per_call: int = 10,
        mixed_precision: bool = False,
        invalid_series: str = "error",
        long_series: str = "error",
        max_categories: int = 1000,
        random_state: Optional[int] = None,
        verbose: int = 1,
    ) -> None:
        self.sample_len = sample_len
        self.max_sequence_len = max_sequence_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.attribute_noise_dim = attribute_noise_dim
        self.feature_noise_dim = feature_noise_dim
        self.attribute_units = attribute_units
        self.lstm_units = lstm_units
        self.lstm_layers = lstm_layers
        self.critic_units = critic_units
        self.generator_lr = generator_lr
        self.critic_lr = critic_lr
        self.beta_1 = beta_1
        self.gp_weight = gp_weight
        self.aux_critic = aux_critic
        self.aux_critic_weight = aux_critic_weight
        self.auto_normalize = auto_normalize
        self.normalization = normalization
        self.time_mode = time_mode
        self.log_columns = log_columns
        self.minmax_scale = minmax_scale
        self.critic_steps = critic_steps
        self.generator_steps = generator_steps
        self.packing = packing
        self.ema_decay = ema_decay
        self.marginal_weight = marginal_weight
        self.epsilon = epsilon
        self.delta = delta
        self.l2_norm_clip = l2_norm_clip
        self.noise_multiplier = noise_multiplier
        self.dp_noise_source = dp_noise_source
        self.callbacks = callbacks
        self.log_dir = log_dir
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.strategy = strategy
        self.steps_per_call = steps_per_call
        self.mixed_precision = mixed_precision
        self.invalid_series = invalid_series
        self.long_series = long_series
        self.max_categories = max_categories
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------------- fit
    def fit(self, df: pd.DataFrame, schema: Union[Schema, Mapping[str, Any]],
            resume: bool = False) -> "DGSynthesizer":
        """Learn the generative model from a long DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per record: series key, optional time, attribute and
            feature columns as named by ``schema``. It is not modified.
        schema : Schema or dict
            Column roles and kinds (a dict in ``Schema.to_dict()`` form works).
        resume : bool, default=False
            Continue from the newest checkpoint in ``checkpoint_dir`` (if
            there is one; otherwise start afresh). The data and parameters
            must be those of the interrupted fit; the result then matches an
            uninterrupted fit with the same ``random_state`` (up to
            floating-point reordering; under DP only with
            ``dp_noise_source="dgkeras"``, as TensorFlow Privacy draws its
            noise from an unseeded source).

        Returns
        -------
        DGSynthesizer
            self, fitted.

        Raises
        ------
        DataError
            If the data does not match the schema or cannot be modelled.
        ValueError
            On invalid hyperparameters.
        TrainingDivergedError
            If a loss or weight becomes NaN or infinite. The estimator then
            holds the weights and history of the last finished epoch (if
            any) and can sample.
        KeyboardInterrupt
            Re-raised on Ctrl-C, after the estimator has been left fitted at
            the last finished epoch (if any), with ``history_`` up to it.
        """
        self._check_params()
        schema = Schema.from_dict(schema)
        df = prepare_frame(df, schema, self.max_sequence_len, self.invalid_series,
                           self.long_series, self.max_categories)
        ignored = [c for c in df.columns if c not in set(schema.columns)]
        if ignored:
            warnings.warn(f"columns {ignored} are not in the schema and are not modelled; "
                          "they will not appear in sampled data", UserWarning, stacklevel=2)
        encoder = Encoder(schema, self.sample_len, self.max_sequence_len, self.auto_normalize,
                          self.normalization, self.time_mode,
                          self.log_columns or (), self.minmax_scale).fit(df)
        data = encoder.transform(df)
        critic_steps = self._critic_steps()
        dp = resolve_dp_settings(self.epsilon, self.delta, self.l2_norm_clip,
                                 self.noise_multiplier, data.n_series, self.batch_size,
                                 self.epochs, critic_steps, self.dp_noise_source)
        seed = int(np.random.default_rng(self.random_state).integers(0, 2**31 - 1))
        config = NetworkConfig(
            attribute_outputs=encoder.attribute_outputs,
            minmax_outputs=encoder.minmax_outputs,
            feature_outputs=encoder.feature_outputs,
            n_steps=encoder.padded_len_ // encoder.sample_len_,
            sample_len=encoder.sample_len_,
            attribute_noise_dim=self.attribute_noise_dim,
            feature_noise_dim=self.feature_noise_dim,
            attribute_units=tuple(self.attribute_units),
            lstm_units=self.lstm_units,
            lstm_layers=self.lstm_layers,
            critic_units=tuple(self.critic_units),
            aux_critic=bool(self.aux_critic),
            packing=int(self.packing),
            seed=seed,
            mixed_precision=bool(self.mixed_precision),
        )
        strategy = self.strategy if self.strategy is not None else tf.distribute.get_strategy()
        with strategy.scope():
            model = DoppelGANger(config)
        trainer = Trainer(model, TrainingConfig(
            epochs=self.epochs, batch_size=self.batch_size, generator_lr=self.generator_lr,
            critic_lr=self.critic_lr, beta_1=self.beta_1, gp_weight=self.gp_weight,
            aux_critic_weight=self.aux_critic_weight, critic_steps=critic_steps,
            generator_steps=self.generator_steps, seed=seed, dp=dp,
            steps_per_call=self.steps_per_call,
            ema_decay=self.ema_decay, marginal_weight=float(self.marginal_weight)),
            n_series=data.n_series, strategy=strategy)
        arrays = (data.attributes, data.minmax, data.features)
        initial_epoch, initial_history, callbacks = self._training_callbacks(
            trainer, arrays, encoder, resume)
        self.stop_training = False
        try:
            history = trainer.fit(*arrays, callbacks=callbacks, initial_epoch=initial_epoch,
                                  initial_history=initial_history,
                                  stop_requested=lambda: self.stop_training)
        except (KeyboardInterrupt, TrainingDivergedError):
            # Keep what the finished epochs learned: the trainer has restored
            # their weights, so the model samples finite values.
            if len(trainer.history):
                self._set_fitted(encoder, model, trainer.history, n_series=data.n_series, dp=dp)
            raise
        self._set_fitted(encoder, model, history, n_series=data.n_series, dp=dp)
        return self

    def _training_callbacks(self, trainer: Trainer, arrays: tuple, encoder: Encoder,
                            resume: bool):
        """Restore a checkpoint if asked; build progress, TensorBoard, checkpoint and
        user callbacks. Returns (initial epoch, initial history, CallbackList)."""
        callbacks: List[Any] = []
        initial_epoch, initial_history = 0, None
        if self.checkpoint_dir is not None:
            settings = {k: v for k, v in self.get_params().items() if k not in _RUN_PARAMS}
            # The encoder's ranges too: data scaled by a constant encodes the same.
            settings["encoder"] = encoder.to_state()
            checkpointer = Checkpointer(self.checkpoint_dir, self.checkpoint_every, trainer,
                                        fingerprint(arrays, settings))
            if resume:
                restored = checkpointer.restore()
                if restored is not None:
                    initial_epoch, initial_history = restored
            callbacks.append(checkpointer)
        elif resume:
            raise DataError("resume=True needs checkpoint_dir, the folder of the checkpoints")
        if self.verbose:
            callbacks.insert(0, ProgressBar(self.epochs, self.verbose,
                                            initial_epoch=initial_epoch))
        if self.log_dir is not None:
            callbacks.append(TensorBoardLogger(self.log_dir))
        callbacks += list(self.callbacks or [])
        return initial_epoch, initial_history, CallbackList(callbacks, model=self)

    def _set_fitted(self, encoder: Encoder, model: DoppelGANger, history: pd.DataFrame,
                    n_series: int, dp: Optional[DPSettings]) -> None:
        self.encoder_ = encoder
        self.model_ = model
        self.schema_ = encoder.schema
        self.history_ = history
        self.dp_settings_ = dp
        self.epsilon_ = None if dp is None else dp.epsilon
        self.noise_multiplier_ = None if dp is None else dp.noise_multiplier
        self.delta_ = None if dp is None else dp.delta
        self.n_series_ = int(n_series)
        self.sample_len_ = encoder.sample_len_
        self.max_sequence_len_ = encoder.max_len_

    def _trains_privately(self) -> bool:
        """Whether a fit uses DP-SGD: ``epsilon`` or ``noise_multiplier`` is given."""
        return self.epsilon is not None or self.noise_multiplier is not None

    def _critic_steps(self, private: Optional[bool] = None) -> int:
        """``critic_steps`` with "auto" resolved: 5, or 1 under differential privacy.

        ``private`` defaults to whether this estimator trains with DP;
        attribute refitting, which uses its rows without DP, passes False.
        """
        if isinstance(self.critic_steps, str) and self.critic_steps == "auto":
            if private is None:
                private = self._trains_privately()
            return 1 if private else 5
        return int(self.critic_steps)

    def _check_params(self) -> None:
        positive_ints = ("epochs", "batch_size", "checkpoint_every", "attribute_noise_dim",
                         "feature_noise_dim", "lstm_units", "lstm_layers", "generator_steps",
                         "steps_per_call", "packing")
        steps = self.critic_steps
        if not (isinstance(steps, str) and steps == "auto") and (
                isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1):
            raise ValueError(f"critic_steps must be a positive integer or 'auto', got {steps!r}")
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("attribute_units", "critic_units"):
            units = getattr(self, name)
            if (not isinstance(units, (list, tuple)) or not units
                    or not all(isinstance(u, numbers.Integral) and u >= 1 for u in units)):
                raise ValueError(f"{name} must be a non-empty sequence of positive integers, "
                                 f"got {units!r}")
        for name in ("generator_lr", "critic_lr"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if isinstance(self.max_categories, bool) or not isinstance(
                self.max_categories, numbers.Integral) or self.max_categories < 2:
            raise ValueError(f"max_categories must be an integer >= 2, got "
                             f"{self.max_categories!r}")
        if not isinstance(self.beta_1, numbers.Real) or not 0 <= self.beta_1 < 1:
            raise ValueError(f"beta_1 must lie in [0, 1), got {self.beta_1!r}")
        if self.ema_decay is not None and (isinstance(self.ema_decay, bool) or not isinstance(
                self.ema_decay, numbers.Real) or not 0 <= self.ema_decay < 1):
            raise ValueError(f"ema_decay must be None or lie in [0, 1), got {self.ema_decay!r}")
        for name in ("gp_weight", "aux_critic_weight", "marginal_weight"):
            _check_non_negative(name, getattr(self, name))
        check_noise_source(self.dp_noise_source)
        if not isinstance(self.mixed_precision, bool):
            raise ValueError(f"mixed_precision must be True or False, got "
                             f"{self.mixed_precision!r}")
        if self.mixed_precision and self._trains_privately():
            # DP-SGD clips per-example gradients to l2_norm_clip; under loss
            # scaling they would be clipped at the scaled size.
            raise ValueError("mixed_precision=True cannot be combined with differential "
                             "privacy (epsilon or noise_multiplier); train DP in float32")
        if self.packing > 1 and self._trains_privately():
            # DP-SGD bounds each series' influence by clipping its gradient; a
            # pack mixes several series into one example.
            raise ValueError(f"packing={self.packing} cannot be combined with differential "
                             "privacy (epsilon or noise_multiplier); use packing=1")
        if self.marginal_weight and self._trains_privately():
            # The value frequencies would reach the generator without DP noise.
            raise ValueError(f"marginal_weight={self.marginal_weight!r} cannot be combined "
                             "with differential privacy (epsilon or noise_multiplier): it "
                             "uses the training data's value frequencies without noise; "
                             "use marginal_weight=0")

    def refit_attributes(self, attributes: pd.DataFrame, epochs: Optional[int] = None,
                         random_state: Optional[int] = None,
                         marginal_weight: Optional[float] = None) -> "DGSynthesizer":
        """Retrain only the attribute generator on a new attribute distribution.

        The networks that model P(series | attributes) stay as they are, so
        series generated for given attributes do not change; only how often
        each attribute combination is generated follows the new data (the
        paper's Sec. 6.1: hide the true shares of, say, customer types while
        keeping their behaviour). The generator is trained against a fresh
        critic on attributes alone, with ``critic_steps`` critic updates per
        generator update ("auto" is 5 here even under DP, as the new rows are
        used without it).

        Parameters
        ----------
        attributes : pandas.DataFrame
            One row per series with every attribute column; a long frame
            with the id column is reduced to its first row per series. Values
            must be categories and ranges seen in training.
        epochs : int, optional
            Default ``self.epochs``.
        random_state : int, optional
            Seed of this retraining.
        marginal_weight : float, optional
            Weight of the pull of the generated categorical value shares
            towards those of ``attributes`` (as the estimator's parameter of
            that name, here with the new rows' shares). Default
            ``self.marginal_weight``. Allowed for a model trained with DP, as
            the new rows are used without it. A value the attribute generator
            has dropped during the first training gets no gradient from the
            critic and stays dropped after a refit without it.

        Returns
        -------
        DGSynthesizer
            self. ``attribute_history_`` holds the per-epoch losses.

        Notes
        -----
        Under differential privacy, ``epsilon_`` still describes the
        original training data; the new attribute rows are used as given,
        without DP.
        """
        check_is_fitted(self, "model_")
        names = list(self.schema_.attributes)
        if not names:
            raise DataError("the model was fitted without attribute columns; there is "
                            "nothing to refit")
        if not isinstance(attributes, pd.DataFrame) or len(attributes) == 0:
            raise DataError("attributes must be a non-empty pandas DataFrame")
        missing = [c for c in names if c not in attributes.columns]
        if missing:
            raise DataError(f"attributes frame lacks attribute columns {missing}")
        id_column = self.schema_.id_column
        if id_column in attributes.columns:
            attributes = attributes.groupby(id_column, sort=False)[names].first()
        frame = attributes[names].reset_index(drop=True)
        for column, kind in self.schema_.attributes.items():
            if kind == "continuous" and frame[column].isna().any():
                raise DataError(f"attributes column {column!r} has missing values")
        encoded = self.encoder_.encode_attributes(frame, check_range=True)
        epochs = self.epochs if epochs is None else epochs
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise DataError(f"epochs must be a positive integer, got {epochs!r}")
        weight = self.marginal_weight if marginal_weight is None else marginal_weight
        _check_non_negative("marginal_weight", weight)
        seed = int(np.random.default_rng(random_state).integers(0, 2**31 - 1))
        self.attribute_history_ = refit_attribute_generator(self.model_, encoded, TrainingConfig(
            epochs=int(epochs), batch_size=self.batch_size, generator_lr=self.generator_lr,
            critic_lr=self.critic_lr, beta_1=self.beta_1, gp_weight=self.gp_weight,
            critic_steps=self._critic_steps(private=False), marginal_weight=float(weight),
            seed=seed))
        return self

    # -------------------------------------------------------------- sample
    def sample(
        self,
        n: Optional[int] = None,
        attributes: Optional[pd.DataFrame] = None,
        length: Optional[int] = None,
        random_state: Optional[int] = None,
    ) -> pd.DataFrame:
        """Generate synthetic series.

        Parameters
        ----------
        n : int, optional
            Number of series. Required unless ``attributes`` is given.
        attributes : pandas.DataFrame, optional
            One row per series to generate, holding every attribute column;
            the series get exactly these attribute values.
        length : int, optional
            Force every series to this many records (1 to
            ``max_sequence_len_``); by default lengths follow the learned
            distribution.
        random_state : int, optional
            Seed; the same seed on the same model gives identical output.

        Returns
        -------
        pandas.DataFrame
            Long data with the training columns and dtypes and new series ids.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        DataError
            On invalid ``n``, ``attributes`` or ``length``.
        """
        n, given, encoded = self._check_sample_request(n, attributes, length, random_state)
        return self._decode(self._generate(n, encoded, random_state), length, given, 0)

    def sample_arrays(
        self,
        n: Optional[int] = None,
        attributes: Optional[pd.DataFrame] = None,
        length: Optional[int] = None,
        random_state: Optional[int] = None,
    ) -> SampleArrays:
        """Generate synthetic series as arrays, one row per series.

        The same series as :meth:`sample` with the same arguments, laid out
        for numerical work: an (n, ``max_sequence_len_``) array per feature
        instead of a long table, which also skips building millions of
        DataFrame rows.

        Parameters
        ----------
        n, attributes, length, random_state
            As in :meth:`sample`.

        Returns
        -------
        SampleArrays
            ``(attributes, features, lengths, times)``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        DataError
            On invalid arguments, or for a model fitted with
            ``time_mode="learned"``, whose series have times of their own:
            use :meth:`sample` there.
        """
        check_is_fitted(self, "model_")
        encoder = self.encoder_
        if encoder.learned_time_ is not None:
            raise DataError("sample_arrays needs a common time grid, and this model was fitted "
                            "with time_mode='learned'; use sample() for series with their "
                            "own times")
        n, given, encoded = self._check_sample_request(n, attributes, length, random_state)
        # Each block is decoded into its rows of the result while the next one
        # is generated.
        features = encoder.empty_feature_arrays(n)
        lengths = np.empty(n, dtype=np.int64)
        tables: List[pd.DataFrame] = []
        start = 0
        for attrs, minmax, records in self._generate_blocks(n, encoded, random_state):
            rows = slice(start, start + len(records))
            lengths[rows] = self._lengths(records, length)
            tables.append(encoder.inverse_transform_arrays(
                attrs, minmax, records, lengths[rows],
                None if given is None else given.iloc[rows],
                out={name: array[rows] for name, array in features.items()})[0])
            start = rows.stop
        table = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
        if self.schema_.id_column is not None:
            table.insert(0, self.schema_.id_column, encoder.new_ids(n))
        times = (None if encoder.time_grid_ is None
                 else encoder.time_grid_.take(np.arange(encoder.max_len_)))
        return SampleArrays(table, features, lengths, times)

    def iter_samples(
        self,
        n: Optional[int] = None,
        chunk_size: int = 10_000,
        attributes: Optional[pd.DataFrame] = None,
        length: Optional[int] = None,
        random_state: Optional[int] = None,
    ) -> Iterator[pd.DataFrame]:
        """Generate series as DataFrames of at most ``chunk_size`` series each.

        Memory stays bounded by the chunk size whatever ``n`` is. Concatenated,
        the chunks equal ``sample(n, ...)`` with the same arguments.

        Parameters
        ----------
        n, attributes, length, random_state
            As in :meth:`sample`.
        chunk_size : int, default=10000
            Series per yielded DataFrame.

        Yields
        ------
        pandas.DataFrame
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) \
                or chunk_size < 1:
            raise DataError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        n, given, encoded = self._check_sample_request(n, attributes, length, random_state)
        buffer: Optional[tuple] = None
        offset = 0
        for block in self._generate_blocks(n, encoded, random_state):
            buffer = block if buffer is None else tuple(
                np.concatenate([a, b], axis=0) for a, b in zip(buffer, block))
            while len(buffer[0]) >= chunk_size:
                head = tuple(a[:chunk_size] for a in buffer)
                buffer = tuple(a[chunk_size:] for a in buffer)
                yield self._decode(head, length, given, offset)
                offset += chunk_size
        if buffer is not None and len(buffer[0]):
            yield self._decode(buffer, length, given, offset)

    def sample_to(
        self,
        path: "str | os.PathLike",
        n: Optional[int] = None,
        chunk_size: int = 10_000,
        attributes: Optional[pd.DataFrame] = None,
        length: Optional[int] = None,
        random_state: Optional[int] = None,
        overwrite: bool = False,
        verbose: int = 0,
    ) -> Path:
        """Stream generated series to a CSV or parquet file with bounded memory.

        The format follows the suffix (``.csv``, ``.csv.gz``, ``.parquet``;
        parquet needs ``pyarrow``). The file is written under a temporary
        name and renamed when complete, so an interrupted run leaves no
        half-written output.

        Parameters
        ----------
        path : str or path-like
            Output file; an existing file is refused unless ``overwrite``.
        n, chunk_size, attributes, length, random_state
            As in :meth:`iter_samples`.
        overwrite : bool, default=False
            Replace an existing file.
        verbose : int, default=0
            1 shows a progress bar over the series written, on stderr.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise DataError(f"{str(path)!r} exists; pass overwrite=True to replace it")
        writer = _chunk_writer(path)
        chunks = self.iter_samples(n, chunk_size, attributes, length, random_state)
        if verbose:
            chunks = _with_progress(chunks, len(attributes) if n is None else n, chunk_size,
                                    verbose)
        tmp = path.with_name(f".{path.name}.partial")
        try:
            writer(chunks, tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    def _check_sample_request(self, n, attributes, length, random_state=None):
        check_is_fitted(self, "model_")
        given = encoded = None
        if attributes is not None:
            given = self._check_given_attributes(attributes, n)
            n = len(given)
            if len(given.columns) < len(self.schema_.attributes):
                given, encoded = self._complete_attributes(given, random_state)
            else:
                encoded = self.encoder_.encode_attributes(given, check_range=True)
        if n is None:
            raise DataError("sampling needs n, the number of series, or an attributes frame")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise DataError(f"n must be a positive integer number of series, got {n!r}")
        max_len = self.encoder_.max_len_
        if length is not None and (isinstance(length, bool)
                                   or not isinstance(length, numbers.Integral)
                                   or not 1 <= length <= max_len):
            raise DataError(f"length must be an integer in [1, max_sequence_len_={max_len}], "
                            f"got {length!r}")
        return int(n), given, encoded

    def _check_given_attributes(self, attributes: pd.DataFrame, n: Optional[int]) -> pd.DataFrame:
        if not isinstance(attributes, pd.DataFrame):
            raise DataError(f"attributes must be a pandas DataFrame, got "
                            f"{type(attributes).__name__}")
        known = list(self.schema_.attributes)
        if not known:
            raise DataError("the model was fitted without attribute columns, so attributes "
                            "cannot be given")
        names = [c for c in known if c in attributes.columns]
        if not names:
            raise DataError(f"attributes frame has none of the attribute columns {known}")
        if len(attributes) == 0:
            raise DataError("attributes frame is empty: give one row per series to generate")
        if n is not None and n != len(attributes):
            raise DataError(f"n={n} does not match the {len(attributes)} rows of attributes")
        for column in names:
            if attributes[column].isna().any() and self.schema_.attributes[column] != "categorical":
                raise DataError(f"attributes column {column!r} has missing values")
        return attributes[names].reset_index(drop=True)

    def _complete_attributes(self, partial: pd.DataFrame, random_state: Optional[int]):
        """Given some attribute columns, draw the others from the model's conditional."""
        encoder = self.encoder_
        # Refuse unknown categories and out-of-range values before any sampling.
        for column in encoder.attribute_columns_:
            if column.name not in partial.columns:
                continue
            if column.kind == "continuous":
                column.check_range(partial[column.name], " (given attributes)")
            else:
                column.codes(partial[column.name], " (given attributes)")
        rng = np.random.default_rng(None if random_state is None else [random_state, 7])
        noise_dim = self.model_.config.attribute_noise_dim

        def generate(m: int) -> np.ndarray:
            noise = rng.standard_normal((m, noise_dim), dtype=np.float32)
            return self.model_.sample_attribute_arrays(noise)

        encoded = complete_attributes(encoder, partial, generate, rng)
        given = encoder.decode_attributes(encoded)
        dtypes = given.dtypes.to_dict()
        for column in partial.columns:  # exactly the values asked for, in the training dtype
            given[column] = partial[column].to_numpy()
        return given.astype(dtypes), encoded

    def _generate(self, n: int, given: Optional[np.ndarray],
                  random_state: Optional[int]) -> tuple:
        """Raw generator outputs (attributes, min/max, records) for all n series."""
        if n <= SAMPLE_BATCH:  # one block: its arrays as they are
            return next(self._generate_blocks(n, given, random_state))
        arrays: List[np.ndarray] = []
        start = 0
        for block in self._generate_blocks(n, given, random_state):
            if not arrays:  # one array per output for all n series: a single copy
                arrays = [np.empty((n,) + a.shape[1:], a.dtype) for a in block]
            for whole, part in zip(arrays, block):
                whole[start:start + len(part)] = part
            start += len(block[0])
        return tuple(arrays)

    def _generate_blocks(self, n: int, given: Optional[np.ndarray],
                         random_state: Optional[int]) -> Iterator[tuple]:
        """Raw generator outputs in blocks of at most SAMPLE_BATCH series.

        The noise is drawn NOISE_BLOCK series at a time, in order, so the
        output for a seed does not depend on SAMPLE_BATCH. The arrays are
        read-only views of the generator's output, not copies.

        With several blocks, the next block is generated on a worker thread
        while the caller works on the current one (TensorFlow releases the
        GIL), and its noise is drawn while the block before it is generated:
        decoding and noise draws then overlap the networks. Every block's
        output depends on its noise only, so this changes no values.
        """
        strategy = self._sampling_strategy()
        rng = np.random.default_rng(random_state)
        blocks = ((start, self._noise_block(rng, start, min(start + SAMPLE_BATCH, n)))
                  for start in range(0, n, SAMPLE_BATCH))

        def run(start: int, noise: List[np.ndarray]) -> tuple:
            part = None if given is None else given[start:start + len(noise[0])]
            return self.model_.sample_arrays(*noise, given_attributes=part, strategy=strategy)

        if n <= SAMPLE_BATCH or strategy is not None:
            # One block has nothing to overlap; a distribution strategy keeps to the
            # thread that entered it.
            for start, noise in blocks:
                yield run(start, noise)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dgkeras-sample") as pool:
            pending = pool.submit(run, *next(blocks))
            for start, noise in blocks:  # drawn while the pending block is generated
                upcoming = pool.submit(run, start, noise)
                yield pending.result()
                pending = upcoming
            yield pending.result()

    def _noise_block(self, rng: np.random.Generator, start: int, stop: int) -> List[np.ndarray]:
        """The three noise inputs for series start..stop, drawn NOISE_BLOCK at a time."""
        config = self.model_.config
        draws = []
        for block in range(start, stop, NOISE_BLOCK):
            size = min(NOISE_BLOCK, stop - block)
            draws.append((
                rng.standard_normal((size, config.attribute_noise_dim), dtype=np.float32),
                rng.standard_normal((size, config.attribute_noise_dim), dtype=np.float32),
                rng.standard_normal((size, config.n_steps, config.feature_noise_dim),
                                    dtype=np.float32)))
        return [np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*draws)]

    def _sampling_strategy(self) -> Optional[Any]:
        """The fit's strategy when all its replicas are local (MirroredStrategy)."""
        strategy = getattr(self, "strategy", None)
        if strategy is None or len(strategy.extended.worker_devices) < \
                strategy.num_replicas_in_sync:
            return None
        return strategy

    def _decode(self, arrays: tuple, length: Optional[int], given: Optional[pd.DataFrame],
                offset: int) -> pd.DataFrame:
        attrs, minmax, records = arrays
        n = len(records)
        lengths = self._lengths(records, length)
        given_part = None if given is None else given.iloc[offset:offset + n]
        return self.encoder_.inverse_transform(attrs, minmax, records, lengths, given_part,
                                               id_offset=offset)

    def _lengths(self, records: np.ndarray, length: Optional[int]) -> np.ndarray:
        """Records per generated series: ``length`` when forced, else from the flags."""
        if length is not None:
            return np.full(len(records), int(length), dtype=np.int64)
        return lengths_from_flags(records, self.encoder_.max_len_)

    # --------------------------------------------------------- persistence
    def _fitted_meta(self) -> Dict[str, Any]:
        return {
            "package_version": __version__,
            "encoder": self.encoder_.to_state(),
            "network": self.model_.config.to_dict(),
            "history": {k: [float(v) for v in self.history_[k]] for k in self.history_.columns},
            "dp_settings_": None if self.dp_settings_ is None else asdict(self.dp_settings_),
            "n_series_": self.n_series_,
        }

    def _restore_fitted(self, meta: Dict[str, Any], weights: Dict[str, List[np.ndarray]]) -> None:
        encoder = Encoder.from_state(meta["encoder"])
        model = DoppelGANger(NetworkConfig.from_dict(meta["network"]))
        model.set_weights(weights)
        dp = meta["dp_settings_"]
        if dp is not None:
            # Models saved before the noise source was recorded had TensorFlow Privacy's.
            dp = DPSettings(**{"noise_source": "tf-privacy", **dp})
        self._set_fitted(encoder, model, pd.DataFrame(meta["history"]),
                         n_series=meta["n_series_"], dp=dp)

    @classmethod
    def _default_params(cls) -> Dict[str, Any]:
        return {name: parameter.default for name, parameter in
                inspect.signature(cls.__init__).parameters.items() if name != "self"}

    def __getstate__(self) -> Dict[str, Any]:
        # Only plain data is pickled (parameters, JSON-able state, numpy
        # weights): Keras objects and tf.functions do not pickle, and data
        # survives library upgrades where class layouts do not.
        state = {k: v for k, v in self.__dict__.items() if not k.endswith("_")}
        state.update(dict.fromkeys(_OBJECT_PARAMS))  # objects, not data: not pickled
        state.pop("stop_training", None)
        state["_dgkeras_version"] = __version__
        if hasattr(self, "model_"):
            state["_fitted_meta"] = self._fitted_meta()
            state["_weights"] = self.model_.get_weights()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        meta = state.pop("_fitted_meta", None)
        weights = state.pop("_weights", None)
        state.pop("_dgkeras_version", None)
        # A pickle from a version without some parameter gets its default.
        self.__dict__.update(self._default_params())
        self.__dict__.update(state)
        if meta is not None:
            self._restore_fitted(meta, weights)

    def save(self, path: str) -> None:
        """Write the fitted model to a single file holding no executable code.

        The file is JSON + arrays (see :mod:`dgkeras.persistence`); load it
        with :meth:`load`. Safe to share with people who must not unpickle.

        Parameters
        ----------
        path : str or path-like
            Destination file; written atomically.
        """
        check_is_fitted(self, "model_")
        params = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in self.get_params().items()}
        params.update(dict.fromkeys(_OBJECT_PARAMS))  # objects, not data: not saved
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        write_model_file(path, {"params": params, **self._fitted_meta()},
                         self.model_.get_weights())

    @classmethod
    def load(cls, path: str) -> "DGSynthesizer":
        """Read a model written by :meth:`save`; nothing in the file is executed.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        DGSynthesizer
            Fitted, ready to sample.

        Raises
        ------
        DataError
            If the file is corrupt, truncated, not a dgkeras model or of a
            newer format.
        """
        meta, weights = read_model_file(path)
        try:
            params = dict(meta["params"])
            for name in _TUPLE_PARAMS:
                params[name] = tuple(params[name])
            synth = cls(**params)
            synth._restore_fitted(meta, weights)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{str(path)!r} holds an incomplete or inconsistent dgkeras model: "
                            f"{exc}") from exc
        return synth


def _check_non_negative(name: str, value: Any) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a real number >= 0 (not NaN)."""
    if not isinstance(value, numbers.Real) or not value >= 0:  # NaN fails >= too
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")


def lengths_from_flags(records: np.ndarray, max_len: int) -> np.ndarray:
    """Series lengths from generation flags: up to the first "ended" record.

    Parameters
    ----------
    records : ndarray, shape (n, T, width)
        Generated records, the last two columns the flag pair.
    max_len : int
        Cap on the length (records past it are padding).

    Returns
    -------
    ndarray of int, shape (n,)
        Values in [1, max_len].
    """
    ended = records[:, :, -1] > records[:, :, -2]
    first_end = np.where(ended.any(axis=1), ended.argmax(axis=1) + 1, records.shape[1])
    return np.clip(first_end, 1, max_len).astype(np.int64)


def _with_progress(chunks: Iterator[pd.DataFrame], n: int, chunk_size: int,
                   verbose: int) -> Iterator[pd.DataFrame]:
    """Pass the chunks on, drawing a progress bar over the series written."""
    bar = ProgressBar(n, verbose, unit="series")
    done = 0
    for chunk in chunks:
        yield chunk
        done = min(n, done + chunk_size)  # every chunk but the last is full
        bar.update(done)


def _chunk_writer(path: Path) -> Callable[[Iterator[pd.DataFrame], Path], None]:
    """A function that writes DataFrame chunks to a file in the format of ``path``."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DataError("writing parquet needs pyarrow: pip install pyarrow") from exc

        def write_parquet(chunks: Iterator[pd.DataFrame], target: Path) -> None:
            writer = None
            try:
                for chunk in chunks:
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(target, table.schema)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()
        return write_parquet
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        def write_csv(chunks: Iterator[pd.DataFrame], target: Path) -> None:
            compression = "gzip" if name.endswith(".gz") else None
            mode = "wb" if compression else "w"
            opener = gzip.open if compression else open
            with opener(target, mode) as handle:
                for i, chunk in enumerate(chunks):
                    text = chunk.to_csv(index=False, header=i == 0)
                    handle.write(text.encode("utf-8") if compression else text)
        return write_csv
    raise DataError(f"{str(path)!r}: choose a .csv, .csv.gz or .parquet file name")
