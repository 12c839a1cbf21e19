"""WGAN-GP training of DoppelGANger: the compiled train step and the epoch loop.

One train step runs ``critic_steps`` updates of the critic and the auxiliary
critic (Wasserstein loss + gradient penalty) followed by ``generator_steps``
updates of the three generator submodels on ``L1 + alpha * L2`` (paper
Sec. 4.3). It is a ``tf.function`` traced once per fit, fed by a ``tf.data``
pipeline; nothing in it is device-specific, so the same code runs on a GPU.
With differential privacy the critics' gradients come from
:mod:`dgkeras.privacy` and batches are Poisson-sampled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import pandas as pd
import tensorflow as tf

from .callbacks import CallbackList
from .exceptions import DataError, TrainingDivergedError
from .gan import DoppelGANger
from .interrupts import deferred_interrupt
from .marginals import frequency_target, marginal_divergence
from .networks import pack
from .privacy import DPSettings, dp_sum_of_clipped_gradients, poisson_batches

# Added under the square root of the gradient norm, as in the original code,
# so the penalty's gradient stays finite at a zero gradient.
_NORM_EPS = 1e-8

HISTORY_COLUMNS = ["critic_loss", "aux_critic_loss", "generator_loss", "seconds"]
#: Seeds per step of the stateless noise: (seed, step * _DRAWS_PER_STEP + draw).
_DRAWS_PER_STEP = 1024
#: The draw of a step whose seed the DP-SGD noise is folded from (by critic
#: update and replica); the other draws of a step stay far below it.
_DP_NOISE_DRAW = _DRAWS_PER_STEP - 1


@dataclass
class TrainingConfig:
    """Optimisation settings of one fit."""

    epochs: int = 400
    batch_size: int = 100
    generator_lr: float = 1e-3
    critic_lr: float = 1e-3
    beta_1: float = 0.5
    gp_weight: float = 10.0
    aux_critic_weight: float = 1.0
    critic_steps: int = 1
    generator_steps: int = 1
    seed: int = 0
    dp: Optional[DPSettings] = None
    steps_per_call: int = 1
    ema_decay: Optional[float] = None
    marginal_weight: float = 0.0


_LossScaleOptimizer = tf.keras.mixed_precision.LossScaleOptimizer
# Keras 2 (TensorFlow 2.15) scales with get_scaled_loss and wants gradients
# unscaled by get_unscaled_gradients before apply_gradients; Keras 3 scales
# with scale_loss and unscales inside apply_gradients.
_KERAS_2_LOSS_SCALING = hasattr(_LossScaleOptimizer, "get_scaled_loss")


def make_adam(learning_rate: float, beta_1: float,
              mixed_precision: bool = False) -> tf.keras.optimizers.Optimizer:
    """Adam, wrapped for loss scaling when the networks compute in float16.

    Float16 gradients underflow without it: the wrapper scales the loss up,
    the gradients back down, and skips a step whose gradients overflowed
    (lowering the scale), so training sees only finite updates.
    """
    optimizer = tf.keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    if mixed_precision:
        return _LossScaleOptimizer(optimizer)
    return optimizer


def scaled_loss(loss: tf.Tensor, optimizer: tf.keras.optimizers.Optimizer) -> tf.Tensor:
    """The loss to differentiate: scaled up under loss scaling (call inside the tape)."""
    if not isinstance(optimizer, _LossScaleOptimizer):
        return loss
    if _KERAS_2_LOSS_SCALING:
        return optimizer.get_scaled_loss(loss)
    return optimizer.scale_loss(loss)


def gradients_to_apply(tape: tf.GradientTape, loss: tf.Tensor, variables,
                       optimizer: tf.keras.optimizers.Optimizer) -> List[tf.Tensor]:
    """Gradients of the loss from :func:`scaled_loss`, as ``optimizer.apply_gradients``
    takes them: unscaled here under Keras 2, by the optimizer itself under Keras 3."""
    grads = tape.gradient(loss, variables)
    if _KERAS_2_LOSS_SCALING and isinstance(optimizer, _LossScaleOptimizer):
        return optimizer.get_unscaled_gradients(grads)
    return grads


def gradient_penalty(critic: tf.keras.Model, real: tf.Tensor, fake: tf.Tensor,
                     t: tf.Tensor) -> tf.Tensor:
    """Per-example (||grad critic(x_hat)||_2 - 1)^2 at ``x_hat = real + t (fake - real)``.

    ``t`` has shape (batch, 1), drawn from U[0, 1] per example (the paper's
    appendix). Returns shape (batch,).
    """
    interpolated = real + t * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        score = critic(interpolated, training=True)
    grads = tape.gradient(score, interpolated)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + _NORM_EPS)
    return tf.square(norms - 1.0)


def critic_example_losses(critic: tf.keras.Model, real: tf.Tensor, fake: tf.Tensor,
                          t: tf.Tensor, gp_weight: float) -> tf.Tensor:
    """Per-example WGAN-GP critic loss: critic(fake) - critic(real) + gp_weight * GP.

    Its batch mean is the usual critic loss; DP-SGD clips it per example.
    """
    score_fake = critic(fake, training=True)[:, 0]
    score_real = critic(real, training=True)[:, 0]
    return score_fake - score_real + gp_weight * gradient_penalty(critic, real, fake, t)


def packed_batch_size(batch_size: int, n_series: int, packing: int, replicas: int) -> int:
    """The global batch a fit uses: ``batch_size`` capped at ``n_series``, then, with
    packing, cut to a multiple of ``packing * replicas`` so that every replica forms
    whole packs.

    Raises
    ------
    DataError
        If the data has too few series for a whole pack on every replica.
    """
    size = min(batch_size, n_series)
    if packing == 1:
        return size
    unit = packing * replicas
    if size < unit:
        raise DataError(f"packing={packing} on {replicas} replica(s) needs batches of at "
                        f"least {unit} series; there are {n_series} series and "
                        f"batch_size={batch_size}")
    return size - size % unit


class WeightAverage(tf.Module):
    """Exponential moving average, over epochs, of a list of variables.

    A GAN's weights keep circling an equilibrium rather than settling, so the
    weights of the last epoch are one arbitrary point of that orbit; their
    average over recent epochs lies closer to its centre (Yazici et al.,
    "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019).
    The averages and the number of epochs averaged are variables, so they
    are saved with a training checkpoint and a resumed fit averages on.

    Parameters
    ----------
    variables : list of tf.Variable
        The variables to average (the generators' weights).
    decay : float
        In [0, 1): weight of the old average at each update; the first
        update copies the variables.
    """

    def __init__(self, variables: List[tf.Variable], decay: float) -> None:
        super().__init__(name="weight_average")
        self.decay = float(decay)
        self._sources = list(variables)
        self.averages = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False)
                         for v in self._sources]
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False)

    def update(self) -> None:
        """Fold the variables' current values into the averages."""
        first = int(self.updates.numpy()) == 0
        for average, source in zip(self.averages, self._sources):
            average.assign(source if first
                           else self.decay * average + (1.0 - self.decay) * source)
        self.updates.assign_add(1)

    def apply(self) -> None:
        """Copy the averages into the variables (nothing before the first update)."""
        if int(self.updates.numpy()) == 0:
            return
        for average, source in zip(self.averages, self._sources):
            source.assign(average)


class Trainer:
    """Optimisers and the compiled train step for one :class:`DoppelGANger`.

    The step runs under a ``tf.distribute.Strategy`` (the default one-device
    strategy unless one is given): each replica gets its share of the
    global batch from a distributed dataset, losses are summed over its
    examples and divided by the *global* batch size, and the optimizers sum
    the replicas' gradients, so the update equals the one-device update on
    the same global batch. The generator's noise and the gradient-penalty
    mixing weights are drawn statelessly from (seed, step, draw) for the
    whole global batch, and each replica takes the rows of its examples:
    the same seed gives the same training path on any number of replicas.

    With ``model.config.packing`` = m > 1 both critics judge packs of m
    samples (PacGAN): the batch is cut to a multiple of m times the number
    of replicas, every pack holds m real or m generated samples, and the
    losses are means over packs. A pack is not one series, so
    :class:`~dgkeras.DGSynthesizer` refuses packing under DP, whose
    guarantee is per series.

    With ``config.ema_decay`` a :class:`WeightAverage` follows the
    generators' weights after every epoch, and the generators end training
    with it.

    With ``config.marginal_weight`` w > 0 the generator's loss (and the
    ``generator_loss`` reported) adds w times the divergence of the
    generated batch's categorical value shares from the training
    frequencies (see :mod:`dgkeras.marginals`); the shares are taken over
    the whole global batch, summed across replicas.

    Parameters
    ----------
    model : DoppelGANger
        Built under ``strategy.scope()``.
    config : TrainingConfig
    n_series : int
        Number of training series (sets the batch size actually used).
    strategy : tf.distribute.Strategy, optional
    """

    def __init__(self, model: DoppelGANger, config: TrainingConfig, n_series: int,
                 strategy: Optional[tf.distribute.Strategy] = None) -> None:
        self.model = model
        self.config = config
        self.strategy = strategy if strategy is not None else tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        self.packing = model.config.packing
        self.batch_size = packed_batch_size(config.batch_size, n_series, self.packing,
                                            self.replicas)
        self.n_series = n_series
        mixed = model.config.mixed_precision
        with self.strategy.scope():
            self.generator_optimizer = make_adam(config.generator_lr, config.beta_1, mixed)
            self.critic_optimizer = make_adam(config.critic_lr, config.beta_1, mixed)
            self.aux_critic_optimizer = make_adam(config.critic_lr, config.beta_1, mixed)
            self.generator_variables = [v for net in model.generators
                                        for v in net.trainable_variables]
            self.critic_variables = list(model.critic.trainable_variables)
            self.aux_critic_variables = (list(model.aux_critic.trainable_variables)
                                         if model.aux_critic is not None else [])
            # Creating optimizer slots before tracing keeps variable creation out of the step.
            self.generator_optimizer.build(self.generator_variables)
            self.critic_optimizer.build(self.critic_variables)
            if self.aux_critic_variables:
                self.aux_critic_optimizer.build(self.aux_critic_variables)
            self.generator_average = (WeightAverage(self.generator_variables, config.ema_decay)
                                      if config.ema_decay is not None else None)
        self._frequencies: Optional[tf.Tensor] = None
        # Replaced during fit by the check of a deferred Ctrl-C (see dgkeras.interrupts).
        self._raise_if_interrupted: Callable[[], None] = lambda: None
        self.train_steps = tf.function(self._distributed_steps, reduce_retracing=True)

    # ---------------------------------------------------------------- noise
    def _seed(self, step: tf.Tensor, draw: int) -> tf.Tensor:
        return tf.stack([tf.constant(self.config.seed, tf.int64),
                         tf.cast(step, tf.int64) * _DRAWS_PER_STEP + draw])

    def _noise(self, batch: tf.Tensor, step: tf.Tensor, draw: int):
        """The generator's three noise inputs for a whole global batch."""
        c = self.model.config
        shapes = [(batch, c.attribute_noise_dim), (batch, c.attribute_noise_dim),
                  (batch, c.n_steps, c.feature_noise_dim)]
        return [tf.random.stateless_normal(shape, self._seed(step, draw + i))
                for i, shape in enumerate(shapes)]

    def _uniform(self, batch: tf.Tensor, step: tf.Tensor, draw: int) -> tf.Tensor:
        return tf.random.stateless_uniform((batch, 1), self._seed(step, draw))

    def _dp_noise_seed(self, step: tf.Tensor, draw: int) -> tf.Tensor:
        """Seed of this replica's DP-SGD noise in the critic update at ``draw``.

        Each replica adds its own share of the noise, so the replica id is
        folded in: equal shares would add up to R times one draw, not one
        draw of the full scale.
        """
        context = tf.distribute.get_replica_context()
        replica = 0 if context is None else context.replica_id_in_sync_group
        fold = tf.random.experimental.stateless_fold_in
        return fold(fold(self._seed(step, _DP_NOISE_DRAW), draw), replica)

    # ------------------------------------------------------------- critics
    def critic_gradients(self, real_attributes, real_minmax, real_records, positions,
                         global_size, step, draw: int = 0
                         ) -> Tuple[List[tf.Tensor], List[tf.Tensor], Dict[str, tf.Tensor]]:
        """This replica's gradients of both critics on its share of the global batch.

        ``positions`` are its examples' rows in the global batch of
        ``global_size``; the generated batch and the penalty's mixing weights
        are drawn for the whole global batch and gathered at those rows.
        Without DP: gradients of the losses summed over the replica's
        examples and divided by the global batch size. With DP: the sum of
        per-example gradients clipped jointly over both critics, plus this
        replica's share of the Gaussian noise (the shares add up to one
        draw of the full scale per global batch), divided by the expected
        batch size; the losses, computed from real data without noise, are
        then not reported (NaN).

        Returns
        -------
        critic_grads, aux_critic_grads : list of Tensor
        losses : dict
            This replica's parts of ``critic_loss`` and ``aux_critic_loss``.
        """
        model, cfg = self.model, self.config
        noise = [tf.gather(z, positions) for z in self._noise(global_size, step, draw)]
        fake = model.generate(*noise, training=True)
        real_in, real_aux_in = (pack(x, self.packing) for x in model.critic_inputs(
            real_attributes, real_minmax, real_records))
        fake_in, fake_aux_in = (pack(x, self.packing) for x in model.critic_inputs(*fake))
        # One mixing weight per pack: this replica's first rows are the global
        # rows its packs are numbered by (see networks.pack).
        packs = tf.shape(real_in)[0]
        t = tf.gather(self._uniform(global_size, step, draw + 3), positions)[:packs]
        t_aux = tf.gather(self._uniform(global_size, step, draw + 4), positions)[:packs]
        n_critic = len(self.critic_variables)
        if cfg.dp is not None:
            def example_loss(real, fake_, t_, real_aux, fake_aux, t_aux_):
                loss = critic_example_losses(model.critic, real[None], fake_[None], t_[None],
                                             cfg.gp_weight)
                if model.aux_critic is not None:
                    loss += critic_example_losses(model.aux_critic, real_aux[None],
                                                  fake_aux[None], t_aux_[None], cfg.gp_weight)
                return tf.reduce_sum(loss)

            grads = dp_sum_of_clipped_gradients(
                example_loss, (real_in, fake_in, t, real_aux_in, fake_aux_in, t_aux),
                self.critic_variables + self.aux_critic_variables, cfg.dp,
                noise_shares=self.replicas, seed=self._dp_noise_seed(step, draw))
            nan = tf.constant(float("nan"))
            return grads[:n_critic], grads[n_critic:], {"critic_loss": nan,
                                                        "aux_critic_loss": nan}
        denominator = tf.cast(global_size // self.packing, tf.float32)
        with tf.GradientTape() as tape:
            critic_loss = tf.reduce_sum(critic_example_losses(
                model.critic, real_in, fake_in, t, cfg.gp_weight)) / denominator
            to_differentiate = scaled_loss(critic_loss, self.critic_optimizer)
        critic_grads = gradients_to_apply(tape, to_differentiate, self.critic_variables,
                                          self.critic_optimizer)
        aux_grads: List[tf.Tensor] = []
        aux_loss = tf.constant(0.0)
        if model.aux_critic is not None:
            with tf.GradientTape() as tape:
                aux_loss = tf.reduce_sum(critic_example_losses(
                    model.aux_critic, real_aux_in, fake_aux_in, t_aux,
                    cfg.gp_weight)) / denominator
                to_differentiate = scaled_loss(aux_loss, self.aux_critic_optimizer)
            aux_grads = gradients_to_apply(tape, to_differentiate, self.aux_critic_variables,
                                           self.aux_critic_optimizer)
        return critic_grads, aux_grads, {"critic_loss": critic_loss, "aux_critic_loss": aux_loss}

    def _critic_update(self, real_batch, positions, global_size, step, draw
                       ) -> Dict[str, tf.Tensor]:
        critic_grads, aux_grads, losses = self.critic_gradients(
            *real_batch, positions, global_size, step, draw)
        self.critic_optimizer.apply_gradients(zip(critic_grads, self.critic_variables))
        if self.aux_critic_variables:
            self.aux_critic_optimizer.apply_gradients(zip(aux_grads, self.aux_critic_variables))
        return losses

    # ----------------------------------------------------------- generator
    def _generator_update(self, step, draw) -> tf.Tensor:
        model, cfg = self.model, self.config
        context = tf.distribute.get_replica_context()
        # The generator's batch is split across replicas by rows r, r + R, ...
        rows = tf.range(context.replica_id_in_sync_group, self.batch_size, self.replicas)
        noise = [tf.gather(z, rows) for z in self._noise(self.batch_size, step, draw)]
        with tf.GradientTape() as tape:
            generated = model.generate(*noise, training=True)
            fake_in, fake_aux_in = (pack(x, self.packing) for x in model.critic_inputs(
                *generated))
            loss = -tf.reduce_sum(model.critic(fake_in, training=True))
            if model.aux_critic is not None:
                loss += -cfg.aux_critic_weight * tf.reduce_sum(
                    model.aux_critic(fake_aux_in, training=True))
            loss = loss / (self.batch_size // self.packing)
            if self._frequencies is not None:
                # Every replica computes the divergence of the global batch;
                # the replicas' losses are summed, hence the division.
                shares = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                            tf.reduce_sum(generated[0], axis=0))
                loss += cfg.marginal_weight * marginal_divergence(
                    shares / self.batch_size, self._frequencies) / self.replicas
            to_differentiate = scaled_loss(loss, self.generator_optimizer)
        grads = gradients_to_apply(tape, to_differentiate, self.generator_variables,
                                   self.generator_optimizer)
        self.generator_optimizer.apply_gradients(zip(grads, self.generator_variables))
        return loss

    def _replica_step(self, indices, positions, global_size, step) -> Dict[str, tf.Tensor]:
        # The step gathers its batch from the training tensors it captures, so
        # only indices cross from the input pipeline to the step.
        real_batch = [tf.gather(t, indices) for t in self._data]
        draw = 0
        for _ in range(self.config.critic_steps):
            losses = self._critic_update(real_batch, positions, global_size, step, draw)
            draw += 5
        for _ in range(self.config.generator_steps):
            generator_loss = self._generator_update(step, draw)
            draw += 3
        return {**losses, "generator_loss": generator_loss}

    def _distributed_step(self, element) -> Dict[str, tf.Tensor]:
        per_replica = self.strategy.run(self._replica_step, args=element)
        # Each replica's losses are its part of the global mean: their sum is it.
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    def _distributed_steps(self, iterator, count: tf.Tensor) -> Dict[str, tf.Tensor]:
        # Several steps in one compiled call, to save the per-call overhead of
        # small models; returns the sums of the step losses.
        totals = {k: tf.constant(0.0) for k in HISTORY_COLUMNS[:-1]}
        for _ in tf.range(count):
            losses = self._distributed_step(next(iterator))
            totals = {k: totals[k] + losses[k] for k in totals}
        return totals

    def _epoch_losses(self, batches, steps: int) -> Dict[str, float]:
        """Run one epoch's steps; return the mean of each loss over them."""
        if steps == 0:
            return {k: float("nan") for k in HISTORY_COLUMNS[:-1]}
        per_call = self.config.steps_per_call
        sums = []
        for done in range(0, steps, per_call):
            self._raise_if_interrupted()
            sums.append(self.train_steps(batches, tf.constant(min(per_call, steps - done))))
        # Read once per epoch, so steps never wait on the host.
        return {k: float(tf.add_n([s[k] for s in sums])) / steps
                for k in HISTORY_COLUMNS[:-1]}

    # ------------------------------------------------------------ the loop
    def epoch_batches(self, epoch: int, n_series: int) -> List[np.ndarray]:
        """Global index batches of one epoch, a function of (seed, epoch) alone.

        Without DP: a fresh permutation cut into fixed-size batches of
        ``min(batch_size, n_series)``, the last incomplete batch dropped, so
        every step sees a full batch and every series takes part over the
        epochs. Under DP: this epoch's share of the ``ceil(epochs / q)``
        Poisson-sampled batches the accountant counts. Depending on nothing
        but the seed and the epoch number lets a resumed fit see exactly the
        batches an uninterrupted one would, and lets every worker of a
        multi-worker fit compute the same batches without talking.
        """
        rng = np.random.default_rng([self.config.seed, epoch])
        dp = self.config.dp
        if dp is None:
            order = rng.permutation(n_series)
            steps = n_series // self.batch_size
            return list(order[:steps * self.batch_size].reshape(steps, self.batch_size))
        return list(poisson_batches(n_series, dp.sampling_probability,
                                    int(self._dp_step_counts()[epoch]), rng))

    def _dp_step_counts(self) -> np.ndarray:
        # The accountant counts ceil(epochs / q) Poisson-sampled steps; spread
        # them over the epochs for reporting.
        steps = self.config.dp.steps
        return np.diff(np.linspace(0, steps, self.config.epochs + 1).round()).astype(int)

    def _first_step(self, epoch: int) -> int:
        if self.config.dp is None:
            return epoch * (self.n_series // self.batch_size)
        return int(self._dp_step_counts()[:epoch].sum())

    def steps_in_epoch(self, epoch: int) -> int:
        """Number of train steps of an epoch."""
        if self.config.dp is None:
            return self.n_series // self.batch_size
        return int(self._dp_step_counts()[epoch])

    def distributed_batches(self, initial_epoch: int, n_series: int):
        """Every remaining epoch's batches as one distributed dataset.

        Replica r of R takes the examples at rows r, r + R, ... of every
        global batch, with those row numbers, the global batch size and the
        global step number (which seeds the noise). One dataset serves the
        whole fit, so no pipeline is rebuilt per epoch.
        """
        replicas = self.replicas
        epochs = range(initial_epoch, self.config.epochs)

        def replica_batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
            per_pipeline = replicas // context.num_input_pipelines
            local = range(context.input_pipeline_id * per_pipeline,
                          (context.input_pipeline_id + 1) * per_pipeline)

            def shares():
                for epoch in epochs:
                    first = self._first_step(epoch)
                    for number, batch in enumerate(self.epoch_batches(epoch, n_series)):
                        for replica in local:
                            rows = np.arange(replica, len(batch), replicas, dtype=np.int32)
                            yield (batch[rows].astype(np.int32), rows, np.int32(len(batch)),
                                   np.int64(first + number))

            signature = (tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32),
                         tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int64))
            return tf.data.Dataset.from_generator(shares, output_signature=signature).prefetch(
                tf.data.AUTOTUNE)

        return self.strategy.distribute_datasets_from_function(replica_batches)

    def fit(self, attributes: np.ndarray, minmax: np.ndarray, records: np.ndarray,
            callbacks: Optional[CallbackList] = None, initial_epoch: int = 0,
            initial_history: Optional[pd.DataFrame] = None,
            stop_requested: Callable[[], bool] = lambda: False) -> pd.DataFrame:
        """Train up to ``config.epochs`` epochs and return the per-epoch history.

        Parameters
        ----------
        attributes, minmax, records : numpy.ndarray
            Encoded training data (see :mod:`dgkeras.encoding`).
        callbacks : CallbackList, optional
            Told of the start and end of training and of every epoch.
        initial_epoch : int
            Epochs already done (when resuming from a checkpoint).
        initial_history : pandas.DataFrame, optional
            Their history.
        stop_requested : callable
            Checked after every epoch; True ends training there.

        Returns
        -------
        pandas.DataFrame
            One row per epoch: mean ``critic_loss``, ``aux_critic_loss``,
            ``generator_loss`` over the epoch's steps and ``seconds``. The
            same table, up to the last finished epoch, stays in
            ``self.history`` when training stops early.

        Notes
        -----
        With ``config.ema_decay`` the generators end (on every way out,
        including the errors below) with their weights averaged over the
        finished epochs; the critics keep their last weights.

        Raises
        ------
        TrainingDivergedError
            On a non-finite loss or weight, after restoring the weights of
            the last finished epoch.
        KeyboardInterrupt
            Re-raised after restoring the weights of the last finished epoch.
        """
        callbacks = callbacks if callbacks is not None else CallbackList([])
        self._data = [tf.constant(a) for a in (attributes, minmax, records)]
        self._frequencies = (frequency_target(attributes, self.model.config.attribute_outputs)
                             if self.config.marginal_weight else None)
        rows: List[Dict[str, float]] = (initial_history.to_dict("records")
                                        if initial_history is not None else [])
        self.history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        good_weights = self.model.get_weights()
        callbacks.on_train_begin()
        batches = iter(self.distributed_batches(initial_epoch, len(records)))
        with deferred_interrupt() as self._raise_if_interrupted:
            return self._epochs(batches, initial_epoch, rows, good_weights, callbacks,
                                stop_requested)

    def _epochs(self, batches, initial_epoch: int, rows: List[Dict[str, float]],
                good_weights, callbacks: CallbackList,
                stop_requested: Callable[[], bool]) -> pd.DataFrame:
        """The epoch loop of :meth:`fit`, from ``initial_epoch``."""
        try:
            for epoch in range(initial_epoch, self.config.epochs):
                start = time.perf_counter()
                logs = self._epoch_losses(batches, self.steps_in_epoch(epoch))
                logs["seconds"] = time.perf_counter() - start
                weights = self.model.get_weights()
                self._check_health(epoch, logs, weights, good_weights)
                good_weights = weights
                if self.generator_average is not None:
                    self.generator_average.update()
                rows.append(logs)
                self.history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
                callbacks.on_epoch_end(epoch, logs)
                self._raise_if_interrupted()
                if stop_requested():
                    break
        except KeyboardInterrupt:
            # The interrupted epoch may be half done: go back to the last whole one.
            self.model.set_weights(good_weights)
            raise
        finally:
            # On every way out (done, stopped, interrupted, diverged) the
            # generators sample with the average of the finished epochs.
            if self.generator_average is not None:
                self.generator_average.apply()
            callbacks.on_train_end()
        return self.history

    def checkpoint(self) -> tf.train.Checkpoint:
        """Everything training changes: the networks, the optimizers and the
        generators' weight average (with ``ema_decay``).

        The noise needs no state: it is drawn from (seed, step, draw).
        """
        state = {"generator_optimizer": self.generator_optimizer,
                 "critic_optimizer": self.critic_optimizer}
        if self.aux_critic_variables:
            state["aux_critic_optimizer"] = self.aux_critic_optimizer
        if self.generator_average is not None:
            state["generator_average"] = self.generator_average
        return tf.train.Checkpoint(**state, **self.model.networks)

    def _check_health(self, epoch: int, logs: Dict[str, float],
                      weights: Dict[str, List[np.ndarray]],
                      good_weights: Dict[str, List[np.ndarray]]) -> None:
        """Raise TrainingDivergedError, restoring ``good_weights``, on a non-finite value."""
        # Under DP the critic losses are NaN by design (see privacy), so only the
        # generator's loss is checked there.
        checked = (["generator_loss"] if self.config.dp is not None
                   else ["critic_loss", "aux_critic_loss", "generator_loss"])
        bad = [k for k in checked if not np.isfinite(logs[k])]
        bad += [name for name, arrays in weights.items()
                if not all(np.isfinite(a).all() for a in arrays)]
        if not bad:
            return
        self.model.set_weights(good_weights)
        kept = (f"the model keeps the weights of epoch {epoch}" if epoch
                else "no epoch finished, so the model is not fitted")
        raise TrainingDivergedError(
            f"training diverged in epoch {epoch + 1}: non-finite values in {bad}; {kept}. "
            "Lower generator_lr and critic_lr, or check the data for extreme values",
            epoch=epoch + 1)


def refit_attribute_generator(model: DoppelGANger, attributes: np.ndarray,
                              config: TrainingConfig) -> pd.DataFrame:
    """Retrain the attribute generator alone on new attribute rows (paper Sec. 6.1).

    The min/max and feature generators, which model P(series | attributes),
    are left as they are. The attribute generator is trained by WGAN-GP
    against a fresh critic on attributes alone, as no series come with the
    new attributes for the auxiliary critic to judge. With
    ``config.marginal_weight`` w > 0 its loss adds w times the divergence of
    the generated batch's categorical value shares from those of the new
    rows (see :mod:`dgkeras.marginals`).

    Parameters
    ----------
    model : DoppelGANger
    attributes : numpy.ndarray, shape (n, A)
        Encoded attribute rows of the new distribution.
    config : TrainingConfig
        Epochs, batch size, learning rates, gradient-penalty weight, critic
        updates per generator update (each on the same real batch), marginal
        weight and seed.

    Returns
    -------
    pandas.DataFrame
        Per-epoch ``critic_loss`` (of the last critic update of each step),
        ``generator_loss`` and ``seconds``.

    Raises
    ------
    TrainingDivergedError
        On a non-finite loss, after restoring the generator's weights.
    """
    from .networks import build_critic

    generator = model.attribute_generator
    mixed = model.config.mixed_precision
    critic = build_critic(attributes.shape[1], model.config.critic_units, config.seed + 600,
                          name="attribute_critic", mixed_precision=mixed)
    rng = tf.random.Generator.from_seed(config.seed)
    g_opt = make_adam(config.generator_lr, config.beta_1, mixed)
    c_opt = make_adam(config.critic_lr, config.beta_1, mixed)
    data = tf.constant(attributes, tf.float32)
    batch_size = min(config.batch_size, len(attributes))
    noise_dim = model.config.attribute_noise_dim
    frequencies = (frequency_target(attributes, model.config.attribute_outputs)
                   if config.marginal_weight else None)

    @tf.function
    def step(indices):
        real = tf.gather(data, indices)
        for _ in range(config.critic_steps):  # unrolled: a handful of updates
            with tf.GradientTape() as tape:
                fake = generator(rng.normal((batch_size, noise_dim)), training=True)
                t = rng.uniform((batch_size, 1))
                loss = tf.reduce_mean(critic_example_losses(critic, real, fake, t,
                                                            config.gp_weight))
                to_differentiate = scaled_loss(loss, c_opt)
            c_opt.apply_gradients(zip(gradients_to_apply(tape, to_differentiate,
                                                         critic.trainable_variables, c_opt),
                                      critic.trainable_variables))
        with tf.GradientTape() as tape:
            fake = generator(rng.normal((batch_size, noise_dim)), training=True)
            g_loss = -tf.reduce_mean(critic(fake, training=True))
            if frequencies is not None:
                g_loss += config.marginal_weight * marginal_divergence(
                    tf.reduce_mean(fake, axis=0), frequencies)
            to_differentiate = scaled_loss(g_loss, g_opt)
        g_opt.apply_gradients(zip(gradients_to_apply(tape, to_differentiate,
                                                     generator.trainable_variables, g_opt),
                                  generator.trainable_variables))
        return loss, g_loss

    rows = []
    before = generator.get_weights()
    for epoch in range(config.epochs):
        start = time.perf_counter()
        order = np.random.default_rng([config.seed, epoch]).permutation(len(attributes))
        steps = len(attributes) // batch_size
        losses = [step(tf.constant(batch, tf.int32))
                  for batch in order[:steps * batch_size].reshape(steps, batch_size)]
        critic_loss, generator_loss = np.mean([[float(a), float(b)] for a, b in losses], axis=0)
        rows.append({"critic_loss": critic_loss, "generator_loss": generator_loss,
                     "seconds": time.perf_counter() - start})
        if not np.isfinite([critic_loss, generator_loss]).all():
            generator.set_weights(before)
            raise TrainingDivergedError(
                f"attribute retraining diverged in epoch {epoch + 1}; lower the learning "
                "rates", epoch=epoch + 1)
    return pd.DataFrame(rows)
