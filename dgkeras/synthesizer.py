"""DGSynthesizer: the scikit-learn-style DoppelGANger estimator.

The estimator is glue: its parameters are checked against the table in
:mod:`dgkeras.params`, a fit runs the steps of :mod:`dgkeras.fitting` and
:mod:`dgkeras.training`, sampling goes through a :class:`~dgkeras.sampling.Sampler`,
and files and pickles hold a :class:`~dgkeras.persistence.FittedModel`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Union

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .conditional import refit_rows
from .exceptions import TrainingDivergedError
from .fitting import (
    build_trainer,
    clean_training_data,
    encode_training_data,
    fit_facts,
    fitted_model,
    generator_score,
    resolve_settings,
    training_callbacks,
)
from .io import write_chunks
from .params import check, fit_seed, predated, resolve, validate_params
from .persistence import FittedModel, load_model, pickle_state, save_model, unpickle_state
from .sampling import SampleArrays, Sampler, check_chunk_size
from .schema import Schema
from .training import TrainingConfig, refit_attribute_generator

__all__ = ["DGSynthesizer", "SampleArrays"]


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
    noise_skip : bool, default=False
        Also feed each LSTM step's noise straight to the layer that emits
        the step's records, so that records can vary from one to the next
        without the LSTM carrying that variation: for series whose records
        are noisier than the generated ones (see docs/hyperparameters.rst).
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
    minmax_scale : {"auto", "unit", "log", "log_min", "quantile"}, default="auto"
        How auto-normalisation's per-series level and span are generated:
        "unit" the midrange and span as they are (the paper), "log" both on
        a log scale fitted to the training series, "log_min" the minimum and
        span on that scale, "quantile" the minimum and span each by its
        distribution over the training series
        (:class:`dgkeras.columns.MinMaxScale` says when each helps).
        "auto" is "quantile" without differential privacy and "unit" with
        it. The fitted model holds the quantile table, read from the
        training series without noise (with fewer than 1,001 series, every
        series' minimum and span).
    snap_to_minimum : bool or "auto", default="auto"
        Where at least 1% of a continuous column's training values equal
        its minimum (a point mass, such as a loss rate or a volume that is
        exactly 0 most of the time), generated values closer to the
        minimum than half the gap to the next training value become the
        minimum, so that the synthetic data takes that value too. "auto"
        is True without differential privacy and False with it (the gap is
        a statistic of the data that DP-SGD does not account for).
    pin_extremes : bool, default=True
        Each generated series takes its generated minimum and maximum of
        every continuous feature: the record where the generator's values
        are lowest decodes to the minimum, the one where they are highest to
        the maximum. Every training series takes both, and the generator's
        records alone fall short of them. Only with ``auto_normalize``.
    critic_steps : int or "auto", default="auto"
        Critic updates per training step. "auto" is 5 without differential
        privacy and 1 with it: a critic trained further per generator update
        keeps the generator from collapsing onto a few attribute values,
        while under DP every extra critic update spends privacy budget (see
        :doc:`hyperparameters` for the measured effect).
    generator_steps : int, default=1
        Generator updates per training step.
    packing : int, default=1
        Samples each critic judges at once (PacGAN, the original code's
        ``num_packing``): m real or m generated series side by side, so a
        generator that keeps producing one kind of series is noticed. The
        batch is cut to a multiple of m (times the replicas). Not available
        with DP, whose guarantee is per series.
    ema_decay : float or None, default=None
        Sample with an exponential moving average of the generators' weights
        over the epochs (after each epoch ``ema_decay * average + (1 -
        ema_decay) * weights``; 0.98 averages about the last 50) rather than
        with their last weights, which keep circling. None (or 0) uses the
        last weights; see :doc:`hyperparameters`.
    marginal_weight : float or "auto", default="auto"
        Weight of a term in the generator's loss that pulls each categorical
        attribute's generated value shares towards the training frequencies
        (KL divergence over each step's generated batch), so that a rare
        value the generator has dropped comes back, which a critic's fading
        gradient does not do (see :mod:`dgkeras.marginals`). Not available
        with DP: the frequencies are read without noise. "auto" is 1.0 for
        data with a categorical attribute, 0 under DP.
    keep_best_every : int, "auto" or None, default="auto"
        Score the generator every this many epochs and after the last (also
        when a callback stops the fit), and end the fit with the weights of
        its best score rather than the last ones (None: the last). The
        score (:mod:`dgkeras.selection`, lower is better) compares up to
        1,000 series generated from fixed noise with as many training
        series: the distributions over series of each feature's summary
        statistics, of the attributes and of the lengths, and each continuous
        feature's autocorrelation curve. It appears in
        ``history_["selection_score"]``. Not available with DP: the score
        reads the training series outside the privacy accounting. "auto" is
        10, and None under DP (see :doc:`hyperparameters`).
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
        seed (reproducible from ``random_state``), or by TensorFlow Privacy's
        ``GaussianSumQuery`` (unseeded; only on the ``dgkeras[tf-privacy]``
        stack). "auto" takes TensorFlow Privacy where it imports. Same
        distribution and accounting either way (:mod:`dgkeras.dp_noise`).
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
        Train on several devices or machines (``MirroredStrategy``,
        ``MultiWorkerMirroredStrategy``); ``batch_size`` is the global batch
        and a seed gives the same training path on any number of replicas
        (see :doc:`/distributed`). Default: one device.
    steps_per_call : int, default=10
        Train steps run by one call of the compiled step function (at most
        an epoch's). More than 1 saves the per-call overhead, which weighs
        on small models and on GPUs; the updates are the same as with 1.
    mixed_precision : bool, default=False
        Compute the hidden layers (MLPs, LSTM) in float16 with float32
        variables, outputs and losses, and loss-scaled optimizers: for
        GPUs with tensor cores; on CPUs float16 is emulated and about 100x
        slower. Not available with DP.
    jit_sampling : bool, default=False
        Compile the feature generator with XLA for sampling. The first call
        of each padded batch size then compiles for 0.5 to 1 s, and later
        calls take less time, the more so the longer the LSTM loop: on a
        2-core CPU 0.33 against 0.54 s per 5,000 series of 550 records,
        0.064 against 0.077 s per 5,000 series of 56. It pays when a fitted
        model samples tens of thousands of long series or more. A model
        samples the same series either way up to float rounding, which can
        tip a generated category or length. Models saved before this
        parameter existed keep sampling with XLA.
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
        0 silent; 1 the values chosen for the parameters given as "auto"
        and a progress bar over epochs with the current losses, on stderr
        (redrawn in place on a terminal, a line per 10% otherwise); 2 one
        line per epoch.

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
    resolved_params_ : dict
        Every stored parameter as the fit used it: each ``"auto"`` replaced
        by the value chosen for this data (see
        :doc:`hyperparameters`), explicit values as given.
        ``DGSynthesizer(**resolved_params_)`` repeats the fit without any
        ``"auto"``; ``get_params()`` still returns the arguments as given.

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
        noise_skip: bool = False,
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
        minmax_scale: str = "auto",
        snap_to_minimum: "bool | str" = "auto",
        pin_extremes: bool = True,
        critic_steps: "int | str" = "auto",
        generator_steps: int = 1,
        packing: int = 1,
        ema_decay: Optional[float] = None,
        marginal_weight: "float | str" = "auto",
        keep_best_every: "int | str | None" = "auto",
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
        jit_sampling: bool = False,
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
        self.noise_skip = noise_skip
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
        self.snap_to_minimum = snap_to_minimum
        self.pin_extremes = pin_extremes
        self.critic_steps = critic_steps
        self.generator_steps = generator_steps
        self.packing = packing
        self.ema_decay = ema_decay
        self.marginal_weight = marginal_weight
        self.keep_best_every = keep_best_every
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
        self.jit_sampling = jit_sampling
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
            On invalid parameters, or data that does not match the schema
            or cannot be modelled (a single series among them).
        TrainingDivergedError
            If a loss or weight becomes NaN or infinite. The estimator then
            holds the weights and history of the last finished epoch (if
            any) and can sample.
        KeyboardInterrupt
            Re-raised on Ctrl-C, after the estimator has been left fitted at
            the last finished epoch (if any), with ``history_`` up to it.
        """
        params = validate_params(self.get_params())
        schema = Schema.from_dict(schema)
        frame = clean_training_data(df, schema, params)
        resolved = resolve_settings(params, schema)
        encoder, data = encode_training_data(frame, schema, resolved)
        trainer = build_trainer(resolved, encoder, data.n_series)
        initial_epoch, initial_history, callbacks = training_callbacks(
            resolved, self.get_params(), self, trainer, data, encoder, resume)
        self.stop_training = False
        try:
            trainer.fit(data.attributes, data.minmax, data.features, callbacks=callbacks,
                        initial_epoch=initial_epoch, initial_history=initial_history,
                        stop_requested=lambda: self.stop_training,
                        score=generator_score(resolved, encoder, data, trainer))
        except (KeyboardInterrupt, TrainingDivergedError):
            # Keep what the finished epochs learned: the trainer has restored
            # their weights, so the model samples finite values.
            if len(trainer.history):
                self._set_fitted(fitted_model(trainer, encoder, data, resolved))
            raise
        self._set_fitted(fitted_model(trainer, encoder, data, resolved))
        return self

    def _set_fitted(self, fitted: FittedModel) -> None:
        self.__dict__.update(fitted.estimator_attributes())

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
        used without it; ``epsilon_`` still describes the original data).

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
        marginal_weight : float or "auto", optional
            As the estimator's parameter, with the new rows' value shares;
            default ``self.marginal_weight``. Allowed for a model trained
            with DP, as the new rows are used without it: "auto" chooses as
            for a fit without DP. A value the attribute generator dropped in
            the first training gets no gradient from the critic and stays
            dropped after a refit without the term.

        Returns
        -------
        DGSynthesizer
            self. ``attribute_history_`` holds the per-epoch losses.
        """
        check_is_fitted(self, "model_")
        encoded = refit_rows(self.encoder_, attributes)
        epochs = self.epochs if epochs is None else epochs
        weight = self.marginal_weight if marginal_weight is None else marginal_weight
        check("epochs", epochs)
        check("marginal_weight", weight)
        # The new rows are used without DP: "auto" is chosen as for a fit without it.
        facts = dataclasses.replace(fit_facts(self.get_params(), self.schema_), private=False)
        self.attribute_history_ = refit_attribute_generator(self.model_, encoded, TrainingConfig(
            epochs=int(epochs), batch_size=self.batch_size, generator_lr=self.generator_lr,
            critic_lr=self.critic_lr, beta_1=self.beta_1, gp_weight=self.gp_weight,
            critic_steps=resolve("critic_steps", self.critic_steps, facts),
            marginal_weight=float(resolve("marginal_weight", weight, facts)),
            seed=fit_seed(random_state)))
        return self

    # -------------------------------------------------------------- sample
    def _sampler(self) -> Sampler:
        check_is_fitted(self, "model_")
        return Sampler(self.encoder_, self.model_, self.strategy)

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
            One row per series to generate, holding every attribute column
            (the series get exactly these values), or some of them (the
            others are drawn from the model given these).
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
        sampler = self._sampler()
        return sampler.frame(sampler.request(n, attributes, length, random_state))

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
        sampler = self._sampler()
        return sampler.arrays(sampler.request(n, attributes, length, random_state))

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
        check_chunk_size(chunk_size)
        sampler = self._sampler()
        yield from sampler.chunks(sampler.request(n, attributes, length, random_state),
                                  chunk_size)

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
        chunks = self.iter_samples(n, chunk_size, attributes, length, random_state)
        total = len(attributes) if n is None and attributes is not None else n
        return write_chunks(path, chunks, total, chunk_size, overwrite, verbose)

    # --------------------------------------------------------- persistence
    def __getstate__(self) -> Dict[str, Any]:
        return pickle_state(self.__dict__)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # A pickle from a version without some parameter gets its default, or
        # the value such models had (params.predated).
        defaults = type(self)().get_params()
        self.__dict__.update(defaults)
        self.__dict__.update(predated(state))
        self.__dict__.update(unpickle_state(state, defaults))

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
        save_model(path, self.get_params(), FittedModel.of(self.__dict__))

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
        synth, fitted = load_model(path, cls)
        synth._set_fitted(fitted)
        return synth
