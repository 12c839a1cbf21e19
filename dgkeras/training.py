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

import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import pandas as pd
import tensorflow as tf

from .gan import DoppelGANger
from .privacy import DPSettings, dp_sum_of_clipped_gradients, poisson_batches

# Added under the square root of the gradient norm, as in the original code,
# so the penalty's gradient stays finite at a zero gradient.
_NORM_EPS = 1e-8

HISTORY_COLUMNS = ["critic_loss", "aux_critic_loss", "generator_loss", "seconds"]


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
    verbose: int = 1
    dp: Optional[DPSettings] = None


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


class Trainer:
    """Optimisers and the compiled train step for one :class:`DoppelGANger`.

    Parameters
    ----------
    model : DoppelGANger
    config : TrainingConfig
    n_series : int
        Number of training series (sets the batch size actually used).
    """

    def __init__(self, model: DoppelGANger, config: TrainingConfig, n_series: int) -> None:
        self.model = model
        self.config = config
        self.batch_size = min(config.batch_size, n_series)
        self.rng = tf.random.Generator.from_seed(config.seed)
        adam = tf.keras.optimizers.Adam
        self.generator_optimizer = adam(config.generator_lr, beta_1=config.beta_1)
        self.critic_optimizer = adam(config.critic_lr, beta_1=config.beta_1)
        self.aux_critic_optimizer = adam(config.critic_lr, beta_1=config.beta_1)
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
        self.train_step = tf.function(self._train_step, reduce_retracing=True)

    # ------------------------------------------------------------- critics
    def critic_gradients(self, real_attributes, real_minmax, real_records
                         ) -> Tuple[List[tf.Tensor], List[tf.Tensor], Dict[str, tf.Tensor]]:
        """Gradients of both critics on one real batch and a generated batch of its size.

        Without DP: gradients of the batch-mean losses. With DP: the noised
        sum of per-example gradients clipped jointly over both critics,
        divided by the expected batch size; the losses, which are computed
        from real data without noise, are then not reported (NaN).

        Returns
        -------
        critic_grads, aux_critic_grads : list of Tensor
        losses : dict
            ``critic_loss`` and ``aux_critic_loss``.
        """
        model, cfg = self.model, self.config
        batch = tf.shape(real_records)[0]
        fake = model.generate(*model.noise(self.rng, batch), training=True)
        real_in, real_aux_in = model.critic_inputs(real_attributes, real_minmax, real_records)
        fake_in, fake_aux_in = model.critic_inputs(*fake)
        t = self.rng.uniform((batch, 1))
        t_aux = self.rng.uniform((batch, 1)) if model.aux_critic is not None else t
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
                self.critic_variables + self.aux_critic_variables, cfg.dp)
            nan = tf.constant(float("nan"))
            return grads[:n_critic], grads[n_critic:], {"critic_loss": nan,
                                                        "aux_critic_loss": nan}
        with tf.GradientTape() as tape:
            critic_loss = tf.reduce_mean(
                critic_example_losses(model.critic, real_in, fake_in, t, cfg.gp_weight))
        critic_grads = tape.gradient(critic_loss, self.critic_variables)
        aux_grads: List[tf.Tensor] = []
        aux_loss = tf.constant(0.0)
        if model.aux_critic is not None:
            with tf.GradientTape() as tape:
                aux_loss = tf.reduce_mean(critic_example_losses(
                    model.aux_critic, real_aux_in, fake_aux_in, t_aux, cfg.gp_weight))
            aux_grads = tape.gradient(aux_loss, self.aux_critic_variables)
        return critic_grads, aux_grads, {"critic_loss": critic_loss, "aux_critic_loss": aux_loss}

    def _critic_update(self, *real_batch) -> Dict[str, tf.Tensor]:
        critic_grads, aux_grads, losses = self.critic_gradients(*real_batch)
        self.critic_optimizer.apply_gradients(zip(critic_grads, self.critic_variables))
        if self.aux_critic_variables:
            self.aux_critic_optimizer.apply_gradients(zip(aux_grads, self.aux_critic_variables))
        return losses

    # ----------------------------------------------------------- generator
    def _generator_update(self) -> tf.Tensor:
        model, cfg = self.model, self.config
        noise = model.noise(self.rng, self.batch_size)
        with tf.GradientTape() as tape:
            fake_in, fake_aux_in = model.critic_inputs(*model.generate(*noise, training=True))
            loss = -tf.reduce_mean(model.critic(fake_in, training=True))
            if model.aux_critic is not None:
                loss += -cfg.aux_critic_weight * tf.reduce_mean(
                    model.aux_critic(fake_aux_in, training=True))
        grads = tape.gradient(loss, self.generator_variables)
        self.generator_optimizer.apply_gradients(zip(grads, self.generator_variables))
        return loss

    def _train_step(self, indices: tf.Tensor) -> Dict[str, tf.Tensor]:
        # The step gathers its batch from the training tensors it captures, so
        # only indices cross from the input pipeline to the step.
        real_batch = [tf.gather(t, indices) for t in self._data]
        for _ in range(self.config.critic_steps):
            losses = self._critic_update(*real_batch)
        for _ in range(self.config.generator_steps):
            generator_loss = self._generator_update()
        return {**losses, "generator_loss": generator_loss}

    # ------------------------------------------------------------ the loop
    def index_dataset(self, n_series: int) -> tf.data.Dataset:
        """Shuffled fixed-size index batches, reshuffled every epoch (the non-DP pipeline).

        The batch is ``min(batch_size, n_series)`` and the last incomplete
        batch is dropped, so every step sees a full batch; reshuffling lets
        every series take part over the epochs. Shuffling indices rather than
        records keeps no second copy of the data in a shuffle buffer.
        """
        return (tf.data.Dataset.range(n_series)
                .shuffle(n_series, seed=self.config.seed, reshuffle_each_iteration=True)
                .batch(self.batch_size, drop_remainder=True)
                .prefetch(tf.data.AUTOTUNE))

    def _epochs(self, n_series: int) -> Iterator[Iterator]:
        """Index batches of each epoch: shuffled batches, or Poisson samples under DP."""
        dp = self.config.dp
        if dp is None:
            data = self.index_dataset(n_series)
            for _ in range(self.config.epochs):
                yield iter(data)
            return
        # The accountant counts ceil(epochs / q) Poisson-sampled steps; spread
        # them over the epochs for reporting.
        batches = poisson_batches(n_series, dp.sampling_probability, dp.steps,
                                  np.random.default_rng(self.config.seed))
        for count in np.diff(np.linspace(0, dp.steps, self.config.epochs + 1).round()):
            yield (next(batches) for _ in range(int(count)))

    def fit(self, attributes: np.ndarray, minmax: np.ndarray, records: np.ndarray,
            on_epoch_end: Optional[Callable[[int, Dict[str, float]], None]] = None
            ) -> pd.DataFrame:
        """Train for ``config.epochs`` epochs and return the per-epoch history.

        Parameters
        ----------
        attributes, minmax, records : numpy.ndarray
            Encoded training data (see :mod:`dgkeras.encoding`).
        on_epoch_end : callable, optional
            Called as ``on_epoch_end(epoch, logs)`` after every epoch.

        Returns
        -------
        pandas.DataFrame
            One row per epoch: mean ``critic_loss``, ``aux_critic_loss``,
            ``generator_loss`` over the epoch's steps and ``seconds``.
        """
        self._data = [tf.constant(a) for a in (attributes, minmax, records)]
        rows: List[Dict[str, float]] = []
        for epoch, batches in enumerate(self._epochs(len(records))):
            start = time.perf_counter()
            step_losses = [self.train_step(tf.cast(batch, tf.int32)) for batch in batches]
            # Averaged once per epoch, so steps never wait on the host.
            logs = {k: (float(tf.reduce_mean(tf.stack([s[k] for s in step_losses])))
                        if step_losses else float("nan"))
                    for k in HISTORY_COLUMNS[:-1]}
            logs["seconds"] = time.perf_counter() - start
            rows.append(logs)
            if _should_report(self.config.verbose, epoch, self.config.epochs):
                print(f"epoch {epoch + 1}/{self.config.epochs}  "
                      + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()),
                      file=sys.stderr, flush=True)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
        return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def _should_report(verbose: int, epoch: int, epochs: int) -> bool:
    """verbose=1 reports about ten epochs of a fit, verbose>=2 every epoch."""
    if verbose <= 0:
        return False
    return verbose >= 2 or (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs
