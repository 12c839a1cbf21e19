"""WGAN-GP training of DoppelGANger: the compiled train step and the epoch loop.

One train step runs ``critic_steps`` updates of the critic and the auxiliary
critic (Wasserstein loss + gradient penalty) followed by ``generator_steps``
updates of the three generator submodels on ``L1 + alpha * L2`` (paper
Sec. 4.3). It is a ``tf.function`` traced once per fit, fed by a ``tf.data``
pipeline; nothing in it is device-specific, so the same code runs on a GPU.
How the critics' gradients are formed and batches drawn is one object the
trainer holds: :class:`MeanGradients` without differential privacy,
:class:`dgkeras.privacy.DPSGD` (per-example clipping, Gaussian noise,
Poisson batches) with it; the train step reads the same either way.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import pandas as pd
import tensorflow as tf

from .callbacks import CallbackList
from .exceptions import DataError, TrainingDivergedError
from .gan import DoppelGANger, initializer_seed
from .health import LastGoodWeights
from .interrupts import deferred_interrupt
from .losses import critic_example_losses
from .marginals import frequency_target, marginal_divergence
from .networks import build_critic, pack
from .optimizers import FusedAdam
from .privacy import DPSGD, DPSettings

HISTORY_COLUMNS = ["critic_loss", "aux_critic_loss", "generator_loss", "seconds"]
#: The history column of the generator's score with ``keep_best_every``
#: (NaN in the epochs not scored).
SCORE_COLUMN = "selection_score"
#: Seeds per step of the stateless noise: (seed, step * DRAWS_PER_STEP + draw).
DRAWS_PER_STEP = 1024
#: The generator's noise inputs (attribute, min/max, feature) take draws
#: draw, draw + 1, draw + 2 (see NetworkConfig.noise_shapes).
NOISE_DRAWS = 3
#: A critic update's draws: the generator's noise, then the gradient
#: penalty's mixing weights of the critic and of the auxiliary critic.
CRITIC_DRAWS = NOISE_DRAWS + 2
#: A generator update's draws: its noise.
GENERATOR_DRAWS = NOISE_DRAWS
#: The draw of a step whose seed the DP-SGD noise is folded from (by critic
#: update and replica); the other draws of a step stay far below it.
DP_NOISE_DRAW = DRAWS_PER_STEP - 1


def stateless_seed(seed: int, step: tf.Tensor, draw: int) -> tf.Tensor:
    """The stateless seed of draw ``draw`` of train step ``step`` of a fit seeded ``seed``."""
    return tf.stack([tf.constant(seed, tf.int64),
                     tf.cast(step, tf.int64) * DRAWS_PER_STEP + draw])


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
    keep_best_every: Optional[int] = None


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
    optimizer = FusedAdam(learning_rate, beta_1=beta_1)
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


@dataclass
class CriticTerm:
    """One critic's part of a critic update: the critic, its inputs and its optimiser.

    ``real`` and ``fake`` are batched critic inputs (packs, with packing),
    ``t`` the gradient penalty's mixing weights, one per row.
    """

    critic: tf.keras.Model
    real: tf.Tensor
    fake: tf.Tensor
    t: tf.Tensor
    variables: List[tf.Variable]
    optimizer: tf.keras.optimizers.Optimizer


def descend(optimizer: tf.keras.optimizers.Optimizer, variables: List[tf.Variable],
            loss_fn: Callable[[], tf.Tensor]) -> tf.Tensor:
    """One optimiser step on ``loss_fn()``, computed under a tape with loss scaling.

    Returns the (unscaled) loss.
    """
    with tf.GradientTape() as tape:
        loss = loss_fn()
        to_differentiate = scaled_loss(loss, optimizer)
    grads = gradients_to_apply(tape, to_differentiate, variables, optimizer)
    optimizer.apply_gradients(zip(grads, variables))
    return loss


class MeanGradients:
    """Critic gradients and batches without differential privacy.

    Every epoch is a fresh permutation of the series cut into full batches
    of ``batch_size`` (the incomplete last one dropped); each critic's loss
    is summed over its examples, divided by the global number of examples
    (``denominator``) and differentiated on its own. :class:`dgkeras.privacy.DPSGD`
    has the same interface.

    Parameters
    ----------
    n_series, batch_size : int
    """

    #: The critics' losses are computed and reported.
    reports_losses = True

    def __init__(self, n_series: int, batch_size: int) -> None:
        self.n_series = n_series
        self.batch_size = batch_size

    def steps_in_epoch(self, epoch: int) -> int:
        """Train steps of epoch ``epoch``."""
        return self.n_series // self.batch_size

    def first_step(self, epoch: int) -> int:
        """Global number of the first step of epoch ``epoch``."""
        return epoch * self.steps_in_epoch(epoch)

    def epoch_batches(self, epoch: int, rng: np.random.Generator) -> List[np.ndarray]:
        """The index batches of one epoch, drawn from ``rng``."""
        steps = self.steps_in_epoch(epoch)
        order = rng.permutation(self.n_series)
        return list(order[:steps * self.batch_size].reshape(steps, self.batch_size))

    def critic_gradients(self, terms: List[CriticTerm], gp_weight: float,
                         denominator: tf.Tensor, seed: tf.Tensor, noise_shares: int
                         ) -> Tuple[List[List[tf.Tensor]], List[tf.Tensor]]:
        """Each term's gradients and loss (``seed`` and ``noise_shares`` are unused)."""
        grads, losses = [], []
        for term in terms:
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(critic_example_losses(
                    term.critic, term.real, term.fake, term.t, gp_weight)) / denominator
                to_differentiate = scaled_loss(loss, term.optimizer)
            grads.append(gradients_to_apply(tape, to_differentiate, term.variables,
                                            term.optimizer))
            losses.append(loss)
        return grads, losses


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

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The averages in the variables for the ``with`` block, then the
        variables' own values back."""
        current = [v.numpy() for v in self._sources]
        self.apply()
        try:
            yield
        finally:
            for value, source in zip(current, self._sources):
                source.assign(value)


class BestWeights(tf.Module):
    """The values a list of variables had when they last scored best (lowest).

    Kept as variables, like :class:`WeightAverage`, so a training checkpoint
    saves them with the best score and its epoch, and a resumed fit goes on
    comparing with them.

    Parameters
    ----------
    variables : list of tf.Variable
        The variables to copy (the generators' weights).
    """

    def __init__(self, variables: List[tf.Variable]) -> None:
        super().__init__(name="best_weights")
        self._sources = list(variables)
        self.copies = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False)
                       for v in self._sources]
        self.score = tf.Variable(np.inf, dtype=tf.float64, trainable=False)
        self.epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)

    def consider(self, score: float, epoch: int) -> bool:
        """Copy the variables if ``score`` is finite and lower than the best so far.

        Returns
        -------
        bool
            Whether they were copied.
        """
        if not np.isfinite(score) or score >= float(self.score.numpy()):
            return False
        for copy, source in zip(self.copies, self._sources):
            copy.assign(source)
        self.score.assign(score)
        self.epoch.assign(epoch)
        return True

    @property
    def best_epoch(self) -> Optional[int]:
        """The epoch (from 0) of the copied values; None before any copy."""
        epoch = int(self.epoch.numpy())
        return epoch if epoch >= 0 else None

    def apply(self) -> None:
        """Copy the best values into the variables (nothing before the first copy)."""
        if self.best_epoch is None:
            return
        for copy, source in zip(self.copies, self._sources):
            source.assign(copy)


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

    With ``config.keep_best_every`` = k, the ``score`` given to :meth:`fit`
    is called every k epochs and after the last (with the weight average in
    place, if any), and :class:`BestWeights` keeps the generators' weights
    of the lowest score; the generators end training with them.

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
            self.best_generator = (BestWeights(self.generator_variables)
                                   if config.keep_best_every is not None else None)
        self.good_weights = LastGoodWeights(model)
        self.sgd = (DPSGD(config.dp, n_series, config.epochs) if config.dp is not None
                    else MeanGradients(n_series, self.batch_size))
        self._frequencies: Optional[tf.Tensor] = None
        self._score: Optional[Callable[[], float]] = None
        self._history_rows: List[Dict[str, float]] = []
        # Replaced during fit by the check of a deferred Ctrl-C (see dgkeras.interrupts).
        self._raise_if_interrupted: Callable[[], None] = lambda: None
        # No AutoGraph: the step has no data-dependent Python control flow, and
        # converting its code (and the Keras code it calls) took half the tracing.
        self.train_steps = tf.function(self._distributed_steps, reduce_retracing=True,
                                       autograph=False)

    # ---------------------------------------------------------------- noise
    def _seed(self, step: tf.Tensor, draw: int) -> tf.Tensor:
        return stateless_seed(self.config.seed, step, draw)

    def _noise(self, batch: tf.Tensor, step: tf.Tensor, draw: int):
        """The generator's three noise inputs for a whole global batch."""
        return [tf.random.stateless_normal(shape, self._seed(step, draw + i))
                for i, shape in enumerate(self.model.config.noise_shapes(batch))]

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
        return fold(fold(self._seed(step, DP_NOISE_DRAW), draw), replica)

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
        model = self.model
        noise = [tf.gather(z, positions) for z in self._noise(global_size, step, draw)]
        fake = model.generate(*noise, training=True)
        real_in, real_aux_in = (pack(x, self.packing) for x in model.critic_inputs(
            real_attributes, real_minmax, real_records))
        fake_in, fake_aux_in = (pack(x, self.packing) for x in model.critic_inputs(*fake))
        # One mixing weight per pack: this replica's first rows are the global
        # rows its packs are numbered by (see networks.pack).
        packs = tf.shape(real_in)[0]
        t, t_aux = (tf.gather(self._uniform(global_size, step, draw + NOISE_DRAWS + i),
                              positions)[:packs] for i in range(2))
        terms = [CriticTerm(model.critic, real_in, fake_in, t, self.critic_variables,
                            self.critic_optimizer)]
        if model.aux_critic is not None:
            terms.append(CriticTerm(model.aux_critic, real_aux_in, fake_aux_in, t_aux,
                                    self.aux_critic_variables, self.aux_critic_optimizer))
        grads, losses = self.sgd.critic_gradients(
            terms, self.config.gp_weight, tf.cast(global_size // self.packing, tf.float32),
            self._dp_noise_seed(step, draw), self.replicas)
        no_aux_loss = 0.0 if self.sgd.reports_losses else float("nan")
        aux_loss = losses[1] if len(terms) > 1 else tf.constant(no_aux_loss)
        return (grads[0], grads[1] if len(terms) > 1 else [],
                {"critic_loss": losses[0], "aux_critic_loss": aux_loss})

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

        def generator_loss() -> tf.Tensor:
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
            return loss

        return descend(self.generator_optimizer, self.generator_variables, generator_loss)

    def _replica_step(self, indices, positions, global_size, step) -> Dict[str, tf.Tensor]:
        # The step gathers its batch from the training tensors it captures, so
        # only indices cross from the input pipeline to the step.
        real_batch = [tf.gather(t, indices) for t in self._data]
        draw = 0
        for _ in range(self.config.critic_steps):
            losses = self._critic_update(real_batch, positions, global_size, step, draw)
            draw += CRITIC_DRAWS
        for _ in range(self.config.generator_steps):
            generator_loss = self._generator_update(step, draw)
            draw += GENERATOR_DRAWS
        return {**losses, "generator_loss": generator_loss}

    def _distributed_step(self, element) -> Dict[str, tf.Tensor]:
        per_replica = self.strategy.run(self._replica_step, args=element)
        # Each replica's losses are its part of the global mean: their sum is it.
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    def _distributed_steps(self, iterator, count: tf.Tensor) -> Dict[str, tf.Tensor]:
        # Several steps in one compiled call, to save the per-call overhead of
        # small models; returns the sums of the step losses.
        names = HISTORY_COLUMNS[:-1]

        def body(done, *totals):
            losses = self._distributed_step(next(iterator))
            return (done + 1, *(total + losses[k] for total, k in zip(totals, names)))

        _, *totals = tf.while_loop(lambda done, *_: done < count, body,
                                   (tf.constant(0), *(tf.constant(0.0) for _ in names)))
        return dict(zip(names, totals))

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
    def epoch_batches(self, epoch: int) -> List[np.ndarray]:
        """Global index batches of one epoch, a function of (seed, epoch) alone.

        Without DP: a fresh permutation cut into fixed-size batches, so every
        step sees a full batch and every series takes part over the epochs.
        Under DP: this epoch's share of the Poisson-sampled batches the
        accountant counts (see ``self.sgd``). Depending on nothing but the
        seed and the epoch number lets a resumed fit see exactly the batches
        an uninterrupted one would, and lets every worker of a multi-worker
        fit compute the same batches without talking.
        """
        return self.sgd.epoch_batches(epoch, np.random.default_rng([self.config.seed, epoch]))

    def steps_in_epoch(self, epoch: int) -> int:
        """Number of train steps of an epoch."""
        return self.sgd.steps_in_epoch(epoch)

    def distributed_batches(self, initial_epoch: int):
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
                    first = self.sgd.first_step(epoch)
                    for number, batch in enumerate(self.epoch_batches(epoch)):
                        for replica in local:
                            rows = np.arange(replica, len(batch), replicas, dtype=np.int32)
                            yield (batch[rows].astype(np.int32), rows, np.int32(len(batch)),
                                   np.int64(first + number))

            signature = (tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32),
                         tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int64))
            # No autotuning: deleting an iterator waits for tf.data's tuning thread,
            # which took 3.5 to 9 s at the end of about half of the 100-epoch MBA
            # fits timed; a fixed prefetch depth serves this small pipeline.
            options = tf.data.Options()
            options.autotune.enabled = False
            return tf.data.Dataset.from_generator(shares, output_signature=signature).prefetch(
                2 * self.config.steps_per_call).with_options(options)

        return self.strategy.distribute_datasets_from_function(replica_batches)

    def fit(self, attributes: np.ndarray, minmax: np.ndarray, records: np.ndarray,
            callbacks: Optional[CallbackList] = None, initial_epoch: int = 0,
            initial_history: Optional[pd.DataFrame] = None,
            stop_requested: Callable[[], bool] = lambda: False,
            score: Optional[Callable[[], float]] = None) -> pd.DataFrame:
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
        score : callable, optional
            The generators' current score, lower is better (see
            :class:`dgkeras.selection.GeneratorScore`); needed with
            ``config.keep_best_every``.

        Returns
        -------
        pandas.DataFrame
            One row per epoch: mean ``critic_loss``, ``aux_critic_loss``,
            ``generator_loss`` over the epoch's steps, ``seconds`` (and the
            ``selection_score``, see :attr:`history_columns`). It stays in
            ``self.history`` when training stops early.

        Notes
        -----
        On every way out, including the errors below, the generators end
        with their average weights (``ema_decay``) or best scored ones
        (``keep_best_every``); the critics keep their last weights.

        Raises
        ------
        TrainingDivergedError
            On a non-finite loss or weight, after restoring the weights of
            the last finished epoch.
        KeyboardInterrupt
            Re-raised after restoring the weights of the last finished epoch.
        """
        callbacks = callbacks if callbacks is not None else CallbackList([])
        if self.best_generator is not None and score is None:
            raise ValueError("keep_best_every needs the score of the generators")
        self._score = score
        self._data = [tf.constant(a) for a in (attributes, minmax, records)]
        self._frequencies = (frequency_target(attributes, self.model.config.attribute_outputs)
                             if self.config.marginal_weight else None)
        self._history_rows = (initial_history.to_dict("records")
                              if initial_history is not None else [])
        self.good_weights.keep()
        callbacks.on_train_begin()
        batches = iter(self.distributed_batches(initial_epoch))
        with deferred_interrupt() as self._raise_if_interrupted:
            return self._epochs(batches, initial_epoch, callbacks, stop_requested)

    @property
    def history(self) -> pd.DataFrame:
        """One row per finished epoch: the mean losses over its steps and its ``seconds``."""
        return pd.DataFrame(self._history_rows, columns=self.history_columns)

    @property
    def history_columns(self) -> List[str]:
        """The columns of :attr:`history`: with ``config.keep_best_every`` also the
        ``selection_score``, NaN in the epochs not scored."""
        return HISTORY_COLUMNS + ([SCORE_COLUMN] if self.best_generator is not None else [])

    def _epochs(self, batches, initial_epoch: int, callbacks: CallbackList,
                stop_requested: Callable[[], bool]) -> pd.DataFrame:
        """The epoch loop of :meth:`fit`, from ``initial_epoch``."""
        try:
            for epoch in range(initial_epoch, self.config.epochs):
                start = time.perf_counter()
                logs = self._epoch_losses(batches, self.steps_in_epoch(epoch))
                logs["seconds"] = time.perf_counter() - start
                self._check_health(epoch, logs)
                if self.generator_average is not None:
                    self.generator_average.update()
                if self.best_generator is not None:
                    logs[SCORE_COLUMN] = self._consider_generator(epoch)
                self._history_rows.append(logs)
                callbacks.on_epoch_end(epoch, logs)
                self._raise_if_interrupted()
                if stop_requested():
                    if self.best_generator is not None and np.isnan(logs[SCORE_COLUMN]):
                        # Stopped before a scoring: the last epoch is scored too.
                        self._history_rows[-1][SCORE_COLUMN] = self._consider_generator(
                            epoch, last=True)
                    break
        except KeyboardInterrupt:
            # The interrupted epoch may be half done: go back to the last whole one.
            self.good_weights.restore()
            raise
        finally:
            # On every way out (done, stopped, interrupted, diverged) the
            # generators sample with the average of the finished epochs, or
            # with the best scored weights.
            if self.generator_average is not None:
                self.generator_average.apply()
            if self.best_generator is not None:
                self.best_generator.apply()
            callbacks.on_train_end(self._end_logs())
        return self.history

    def _end_logs(self) -> Dict[str, float]:
        """What the callbacks' ``on_train_end`` is told: with ``keep_best_every``,
        the kept generator's ``best_epoch`` (from 1) and its ``best_score``."""
        if self.best_generator is None or self.best_generator.best_epoch is None:
            return {}
        return {"best_epoch": self.best_generator.best_epoch + 1,
                "best_score": float(self.best_generator.score.numpy())}

    def _consider_generator(self, epoch: int, last: bool = False) -> float:
        """Score the generators every ``keep_best_every`` epochs and after the
        last (``last``: this one is, as the fit stops), keeping their weights if
        best; NaN in the other epochs."""
        every = self.config.keep_best_every
        if (epoch + 1) % every and epoch + 1 != self.config.epochs and not last:
            return float("nan")
        averaged = (self.generator_average.applied() if self.generator_average is not None
                    else contextlib.nullcontext())
        with averaged:
            score = float(self._score())
            self.best_generator.consider(score, epoch)
        return score

    def checkpoint(self) -> tf.train.Checkpoint:
        """Everything training changes: the networks, the optimizers, the
        generators' weight average (with ``ema_decay``) and their best
        weights (with ``keep_best_every``).

        The noise needs no state: it is drawn from (seed, step, draw).
        """
        state = {"generator_optimizer": self.generator_optimizer,
                 "critic_optimizer": self.critic_optimizer}
        if self.aux_critic_variables:
            state["aux_critic_optimizer"] = self.aux_critic_optimizer
        if self.generator_average is not None:
            state["generator_average"] = self.generator_average
        if self.best_generator is not None:
            state["best_generator"] = self.best_generator
        return tf.train.Checkpoint(**state, **self.model.networks)

    def _check_health(self, epoch: int, logs: Dict[str, float]) -> None:
        """Keep this epoch's weights as the last good ones; on a non-finite loss or
        weight, restore the last good ones and raise TrainingDivergedError."""
        # Under DP the critic losses are NaN by design (see privacy), so only the
        # generator's loss is checked there.
        checked = (["critic_loss", "aux_critic_loss", "generator_loss"]
                   if self.sgd.reports_losses else ["generator_loss"])
        bad = self.good_weights.check_and_keep(logs, checked)
        if not bad:
            return
        self.good_weights.restore()
        kept = (f"the model keeps the weights of epoch {epoch}" if epoch
                else "no epoch finished, so the model is not fitted")
        best = None if self.best_generator is None else self.best_generator.best_epoch
        if best is not None:
            kept = (f"the model keeps the generators of epoch {best + 1}, their best score, "
                    f"and the critics of epoch {epoch}")
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
    generator = model.attribute_generator
    sgd = MeanGradients(len(attributes), min(config.batch_size, len(attributes)))
    step = _attribute_refit_step(model, attributes, config, sgd)
    rows = []
    before = generator.get_weights()
    for epoch in range(config.epochs):
        start = time.perf_counter()
        first = sgd.first_step(epoch)
        batches = sgd.epoch_batches(epoch, np.random.default_rng([config.seed, epoch]))
        losses = [step(tf.constant(batch, tf.int32), tf.constant(first + number, tf.int64))
                  for number, batch in enumerate(batches)]
        critic_loss, generator_loss = np.mean([[float(a), float(b)] for a, b in losses], axis=0)
        rows.append({"critic_loss": critic_loss, "generator_loss": generator_loss,
                     "seconds": time.perf_counter() - start})
        if not np.isfinite([critic_loss, generator_loss]).all():
            generator.set_weights(before)
            raise TrainingDivergedError(
                f"attribute retraining diverged in epoch {epoch + 1}; lower the learning "
                "rates", epoch=epoch + 1)
    return pd.DataFrame(rows)


def _attribute_refit_step(model: DoppelGANger, attributes: np.ndarray,
                          config: TrainingConfig, sgd: MeanGradients) -> Callable:
    """The compiled step of :func:`refit_attribute_generator`, with a fresh critic and
    optimisers: ``critic_steps`` critic updates on one real batch, then one generator
    update, with the noise and the penalty's mixing weights drawn statelessly from
    (seed, step, draw) as in :class:`Trainer`. Returns ``step(indices, step_number)
    -> (critic_loss, generator_loss)``."""
    generator, mixed = model.attribute_generator, model.config.mixed_precision
    critic = build_critic(attributes.shape[1], model.config.critic_units,
                          initializer_seed(config.seed, "attribute_critic"),
                          name="attribute_critic", mixed_precision=mixed)
    g_opt = make_adam(config.generator_lr, config.beta_1, mixed)
    c_opt = make_adam(config.critic_lr, config.beta_1, mixed)
    # Optimizer slots made before tracing keep variable creation out of the step.
    g_opt.build(generator.trainable_variables)
    c_opt.build(critic.trainable_variables)
    frequencies = (frequency_target(attributes, model.config.attribute_outputs)
                   if config.marginal_weight else None)
    data = tf.constant(attributes, tf.float32)
    batch_size, noise_dim = sgd.batch_size, model.config.attribute_noise_dim
    # A Python number, not a captured tensor: divided by a captured tensor, the
    # losses vary from one run to the next in the last digits.
    size = float(batch_size)

    def draw_normal(step_number: tf.Tensor, draw: int) -> tf.Tensor:
        return tf.random.stateless_normal((batch_size, noise_dim),
                                          stateless_seed(config.seed, step_number, draw))

    def generator_loss(step_number: tf.Tensor, draw: int) -> tf.Tensor:
        fake = generator(draw_normal(step_number, draw), training=True)
        loss = -tf.reduce_mean(critic(fake, training=True))
        if frequencies is not None:
            loss += config.marginal_weight * marginal_divergence(
                tf.reduce_mean(fake, axis=0), frequencies)
        return loss

    @tf.function(autograph=False)
    def step(indices: tf.Tensor, step_number: tf.Tensor):
        real = tf.gather(data, indices)
        draw = 0
        for _ in range(config.critic_steps):  # unrolled: a handful of updates
            fake = generator(draw_normal(step_number, draw), training=True)
            t = tf.random.stateless_uniform((batch_size, 1),
                                            stateless_seed(config.seed, step_number, draw + 1))
            term = CriticTerm(critic, real, fake, t, critic.trainable_variables, c_opt)
            (grads,), (loss,) = sgd.critic_gradients([term], config.gp_weight, size, None, 1)
            c_opt.apply_gradients(zip(grads, critic.trainable_variables))
            draw += 2
        g_loss = descend(g_opt, generator.trainable_variables,
                         lambda: generator_loss(step_number, draw))
        return loss, g_loss

    return step
