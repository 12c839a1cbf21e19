"""FusedAdam makes the updates of Keras' Adam, one kernel per variable."""

import numpy as np
import pytest
import tensorflow as tf

from dgkeras.optimizers import FusedAdam


def _run(optimizer_class, gradients, compiled):
    variable = tf.Variable(np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3))
    optimizer = optimizer_class(learning_rate=1e-2, beta_1=0.5)
    optimizer.build([variable])

    def step(gradient):
        optimizer.apply_gradients([(gradient, variable)])

    if compiled:
        step = tf.function(step, autograph=False)
        ops = {op.type for op in step.get_concrete_function(
            tf.TensorSpec(variable.shape, tf.float32)).graph.get_operations()}
        # The update is the fused kernel exactly when the optimizer is FusedAdam.
        assert ("ResourceApplyAdam" in ops) == (optimizer_class is FusedAdam)
    path = []
    for gradient in gradients:
        step(tf.constant(gradient))
        path.append(variable.numpy().copy())
    return np.array(path), optimizer, variable


@pytest.mark.parametrize("compiled", [False, True])
def test_fused_adam_follows_keras_adam(compiled):
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(5, 2, 3)).astype(np.float32)
    fused, optimizer, _ = _run(FusedAdam, gradients, compiled)
    keras, _, _ = _run(tf.keras.optimizers.Adam, gradients, compiled)
    # Every step moves every entry by about the learning rate ...
    assert np.all(np.abs(np.diff(fused, axis=0)) > 1e-3)
    # ... and the two optimisers move them alike, up to float32 rounding
    # (1 - beta_2 is taken in float32 by the kernel).
    np.testing.assert_allclose(fused, keras, rtol=1e-5, atol=1e-7)
    assert int(optimizer.iterations.numpy()) == 5


def test_fused_adam_keeps_its_moments_in_the_keras_slots():
    gradient = np.full((2, 3), 2.0, np.float32)
    _, optimizer, variable = _run(FusedAdam, [gradient], compiled=False)
    m, v = (np.asarray(s) for s in optimizer._slots(variable))
    np.testing.assert_allclose(m, 0.5 * gradient)           # (1 - beta_1) * g
    np.testing.assert_allclose(v, 0.001 * gradient ** 2, rtol=1e-4)  # (1 - beta_2) * g^2
