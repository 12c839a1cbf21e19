"""WGAN-GP training of DoppelGANger: the compiled train step and the epoch loop.

One train step runs ``critic_steps`` updates of the critic and the auxiliary
critic (Wasserstein loss + gradient penalty) followed by ``generator_steps``
updates of the three generator submodels on ``L1 + alpha * L2`` (paper
Sec. 4.3). It is a ``tf.function`` traced once per fit, fed by a ``tf.data``
pipeline; nothing in it is device-specific, so the same code runs on a GPU.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np
import pandas as pd
import tensorflow as tf

from .gan import DoppelGANger

# Added under the square root of the gradient norm, as in the original code,
# so the penalty's gradient stays finite at a zero gradient.
_NORM_EPS = 1e-8


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


def gradient_penalty(critic: tf.keras.Model, real: tf.Tensor, fake: tf.Tensor,
                     rng: tf.random.Generator) -> tf.Tensor:
    """Mean of (||grad critic(x_hat)||_2 - 1)^2 over per-example interpolates.

    ``x_hat = real + t (fake - real)`` with ``t ~ U[0, 1]`` drawn per example
    (the paper's appendix).
    """
    t = rng.uniform((tf.shape(real)[0], 1))
    interpolated = real + t * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        score = critic(interpolated, training=True)
    grads = tape.gradient(score, interpolated)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + _NORM_EPS)
    return tf.reduce_mean(tf.square(norms - 1.0))


def wasserstein_critic_loss(critic: tf.keras.Model, real: tf.Tensor, fake: tf.Tensor,
                            gp_weight: float, rng: tf.random.Generator) -> tf.Tensor:
    """E[critic(fake)] - E[critic(real)] + gp_weight * gradient penalty."""
    distance = (tf.reduce_mean(critic(fake, training=True))
                - tf.reduce_mean(critic(real, training=True)))
    return distance + gp_weight * gradient_penalty(critic, real, fake, rng)


class Trainer:
    """Optimisers and the compiled train step for one :class:`DoppelGANger`.

    Parameters
    ----------
    model : DoppelGANger
    config : TrainingConfig
    """

    def __init__(self, model: DoppelGANger, config: TrainingConfig) -> None:
        self.model = model
        self.config = config
        self.rng = tf.random.Generator.from_seed(config.seed)
        adam = tf.keras.optimizers.Adam
        self.generator_optimizer = adam(config.generator_lr, beta_1=config.beta_1)
        self.critic_optimizer = adam(config.critic_lr, beta_1=config.beta_1)
        self.aux_critic_optimizer = adam(config.critic_lr, beta_1=config.beta_1)
        self.generator_variables = [v for net in model.generators
                                    for v in net.trainable_variables]
        # Creating optimizer slots before tracing keeps variable creation out of the step.
        self.generator_optimizer.build(self.generator_variables)
        self.critic_optimizer.build(model.critic.trainable_variables)
        if model.aux_critic is not None:
            self.aux_critic_optimizer.build(model.aux_critic.trainable_variables)
        self.train_step = tf.function(self._train_step, reduce_retracing=True)

    # ------------------------------------------------------------- one step
    def _critic_update(self, real_attributes, real_minmax, real_records) -> Dict[str, tf.Tensor]:
        model, cfg = self.model, self.config
        batch = tf.shape(real_records)[0]
        fake = model.generate(*model.noise(self.rng, batch), training=True)
        real_in, real_aux_in = model.critic_inputs(real_attributes, real_minmax, real_records)
        fake_in, fake_aux_in = model.critic_inputs(*fake)
        with tf.GradientTape() as tape:
            critic_loss = wasserstein_critic_loss(model.critic, real_in, fake_in,
                                                  cfg.gp_weight, self.rng)
        grads = tape.gradient(critic_loss, model.critic.trainable_variables)
        self.critic_optimizer.apply_gradients(zip(grads, model.critic.trainable_variables))
        aux_loss = tf.constant(0.0)
        if model.aux_critic is not None:
            with tf.GradientTape() as tape:
                aux_loss = wasserstein_critic_loss(model.aux_critic, real_aux_in, fake_aux_in,
                                                   cfg.gp_weight, self.rng)
            grads = tape.gradient(aux_loss, model.aux_critic.trainable_variables)
            self.aux_critic_optimizer.apply_gradients(
                zip(grads, model.aux_critic.trainable_variables))
        return {"critic_loss": critic_loss, "aux_critic_loss": aux_loss}

    def _generator_update(self, batch: tf.Tensor) -> tf.Tensor:
        model, cfg = self.model, self.config
        noise = model.noise(self.rng, batch)
        with tf.GradientTape() as tape:
            fake_in, fake_aux_in = model.critic_inputs(*model.generate(*noise, training=True))
            loss = -tf.reduce_mean(model.critic(fake_in, training=True))
            if model.aux_critic is not None:
                loss += -cfg.aux_critic_weight * tf.reduce_mean(
                    model.aux_critic(fake_aux_in, training=True))
        grads = tape.gradient(loss, self.generator_variables)
        self.generator_optimizer.apply_gradients(zip(grads, self.generator_variables))
        return loss

    def _train_step(self, real_attributes, real_minmax, real_records) -> Dict[str, tf.Tensor]:
        for _ in range(self.config.critic_steps):
            losses = self._critic_update(real_attributes, real_minmax, real_records)
        for _ in range(self.config.generator_steps):
            generator_loss = self._generator_update(tf.shape(real_records)[0])
        return {**losses, "generator_loss": generator_loss}

    # ------------------------------------------------------------ the loop
    def dataset(self, attributes: np.ndarray, minmax: np.ndarray,
                records: np.ndarray) -> tf.data.Dataset:
        """Shuffled fixed-size batches, reshuffled every epoch.

        The batch is ``min(batch_size, n_series)`` and the last incomplete
        batch is dropped, so every step sees a full batch; reshuffling lets
        every series take part over the epochs.
        """
        n = len(records)
        batch = min(self.config.batch_size, n)
        return (tf.data.Dataset.from_tensor_slices((attributes, minmax, records))
                .shuffle(n, seed=self.config.seed, reshuffle_each_iteration=True)
                .batch(batch, drop_remainder=True)
                .prefetch(tf.data.AUTOTUNE))

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
        data = self.dataset(attributes, minmax, records)
        rows: List[Dict[str, float]] = []
        for epoch in range(self.config.epochs):
            start = time.perf_counter()
            step_losses = [self.train_step(*batch) for batch in data]
            # Averaged once per epoch, so steps never wait on the host.
            logs = {k: float(tf.reduce_mean(tf.stack([s[k] for s in step_losses])))
                    for k in step_losses[0]}
            logs["seconds"] = time.perf_counter() - start
            rows.append(logs)
            if _should_report(self.config.verbose, epoch, self.config.epochs):
                print(f"epoch {epoch + 1}/{self.config.epochs}  "
                      + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()),
                      file=sys.stderr, flush=True)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
        return pd.DataFrame(rows, columns=["critic_loss", "aux_critic_loss",
                                           "generator_loss", "seconds"])


def _should_report(verbose: int, epoch: int, epochs: int) -> bool:
    """verbose=1 reports about ten epochs of a fit, verbose>=2 every epoch."""
    if verbose <= 0:
        return False
    return verbose >= 2 or (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs
