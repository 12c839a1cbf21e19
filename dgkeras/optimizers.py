"""Adam with each variable's update as one fused TensorFlow kernel.

Keras' Adam builds its update of every variable from about fifteen small
operations. The FCC MBA networks hold 45 trainable variables and a train
step updates each of them, so those operations were a large part of the
train step's graph and of the time to trace and run it. :class:`FusedAdam`
keeps Keras' optimizer (its slots, iteration counter, checkpoints and
loss-scaling wrapper) and replaces only the per-variable arithmetic with
``ResourceApplyAdam``, the kernel of TensorFlow's own Adam: the same update
rule, with ``1 - beta`` taken in float32 as TensorFlow 1's optimizer (and the
original DoppelGANger code) took it.
"""

from __future__ import annotations

from typing import Optional, Tuple

import tensorflow as tf


class FusedAdam(tf.keras.optimizers.Adam):
    """``tf.keras.optimizers.Adam`` whose update of a variable is one kernel.

    Parameters are those of ``tf.keras.optimizers.Adam``; ``amsgrad`` is not
    supported.
    """

    def update_step(self, gradient: tf.Tensor, variable: tf.Variable,
                    learning_rate: Optional[tf.Tensor] = None) -> None:
        """Apply one Adam update of ``variable`` with ``gradient``.

        Parameters
        ----------
        gradient : Tensor
        variable : tf.Variable
        learning_rate : Tensor, optional
            Passed by Keras 3; Keras 2 reads ``self.learning_rate``.
        """
        if learning_rate is None:
            learning_rate = self.learning_rate
        dtype = variable.dtype
        m, v = self._slots(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype))

    def _slots(self, variable: tf.Variable) -> Tuple[tf.Variable, tf.Variable]:
        """The first and second moment slots of ``variable``, in Keras 3 or Keras 2."""
        if hasattr(self, "_get_variable_index"):  # Keras 3
            index = self._get_variable_index(variable)
        else:  # Keras 2 (TensorFlow 2.15)
            index = self._index_dict[self._var_key(variable)]
        return self._momentums[index], self._velocities[index]
