"""The WGAN-GP critic loss of DoppelGANger, per example (paper Sec. 4.3 and appendix).

Per example rather than per batch, because DP-SGD clips each example's
gradient before summing (:mod:`dgkeras.privacy`); a batch's usual loss is the
mean of these.
"""

from __future__ import annotations

import tensorflow as tf

# Added under the square root of the gradient norm, as in the original code,
# so the penalty's gradient stays finite at a zero gradient.
_NORM_EPS = 1e-8


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
