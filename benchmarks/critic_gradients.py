"""Time of the critic update's gradients on this TensorFlow, with and without the penalty.

The critic update of a training step differentiates the WGAN-GP loss, whose gradient
penalty is itself a gradient: training differentiates through a gradient. This script
times that computation alone, for the two critics of the FCC MBA workload (inputs of
290 and 66 columns, the default five hidden layers of 200 units, batch 100): once
through the Keras critics that training uses, once through the same weights as plain
TensorFlow ops (``tf.matmul``, ``tf.nn.relu``), and, for comparison, the first-order
parts alone (the loss without the penalty; the penalty's value alone, its inner
gradient). With --after-fit, the process first fits the MBA data for 2 epochs and
times that fit's critics, since on TensorFlow 2.21 the same computation has measured
slower in a process that has trained than in a fresh one. Run it under two interpreters
to compare stacks, e.g. the default one and a ``[tf-privacy]`` venv (TensorFlow 2.15):

    python benchmarks/critic_gradients.py [--after-fit]
    /tmp/tf215/bin/python benchmarks/critic_gradients.py [--after-fit]

Each figure is the median over --rounds rounds of the mean of --calls calls, in ms.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from speed import workload_frame  # noqa: E402

from dgkeras.gan import NetworkConfig  # noqa: E402
from dgkeras.losses import critic_example_losses, gradient_penalty  # noqa: E402
from dgkeras.networks import build_critic  # noqa: E402


def plain_critic(critic: tf.keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """The critic's forward pass as plain TensorFlow ops on its own weights."""
    dense = [layer for layer in critic.layers if hasattr(layer, "kernel")]

    def forward(x: tf.Tensor, training: bool = True) -> tf.Tensor:
        for i, layer in enumerate(dense):
            x = tf.matmul(x, layer.kernel) + layer.bias
            if i < len(dense) - 1:
                x = tf.nn.relu(x)
        return x

    return forward


def fitted_mba_critics() -> List[tf.keras.Model]:
    """The critic and auxiliary critic of a 2-epoch fit of the MBA data."""
    from dgkeras import DGSynthesizer

    df, schema, sample_len = workload_frame("mba")
    synth = DGSynthesizer(sample_len=sample_len, epochs=2, critic_steps=1, verbose=0,
                          random_state=0)
    synth.fit(df, schema)
    return [synth.model_.critic, synth.model_.aux_critic]


def median_ms(function: Callable, calls: int, rounds: int) -> float:
    """Median over rounds of the mean time of one call, after a warm-up."""
    for _ in range(10):
        function()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            result = function()
        [np.asarray(x) for x in tf.nest.flatten(result)]  # wait for the last call
        times.append((time.perf_counter() - start) / calls * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--dims", type=int, nargs="+", default=[290, 66],
                        help="input widths of the critics")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--after-fit", action="store_true",
                        help="fit MBA for 2 epochs first and time its critics")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    if args.after_fit:
        critics = fitted_mba_critics()
        args.dims = [c.input_shape[-1] for c in critics]
    else:
        # The package's default critic size, as training builds it.
        critics = [build_critic(dim, NetworkConfig.critic_units, seed=i, name=f"critic_{i}")
                   for i, dim in enumerate(args.dims)]
    data = [[tf.constant(rng.random((args.batch, dim), dtype=np.float32)) for _ in range(2)]
            + [tf.constant(rng.random((args.batch, 1), dtype=np.float32))]
            for dim in args.dims]

    def with_penalty(forwards: List[Callable]) -> Callable:
        def gradients():
            out = []
            for critic, forward, (real, fake, t) in zip(critics, forwards, data):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(critic_example_losses(forward, real, fake, t, 10.0))
                out.append(tape.gradient(loss, critic.trainable_variables))
            return out
        return tf.function(gradients)

    plain = [plain_critic(c) for c in critics]

    @tf.function
    def without_penalty():
        out = []
        for critic, forward, (real, fake, _) in zip(critics, plain, data):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(forward(fake) - forward(real))
            out.append(tape.gradient(loss, critic.trainable_variables))
        return out

    @tf.function
    def penalty_alone():
        # The penalty's value (its inner gradient), not differentiated further.
        return [gradient_penalty(forward, real, fake, t)
                for forward, (real, fake, t) in zip(plain, data)]

    figures = {"with_penalty_keras_ms": with_penalty(critics),
               "with_penalty_plain_tf_ms": with_penalty(plain),
               "without_penalty_plain_tf_ms": without_penalty,
               "penalty_alone_plain_tf_ms": penalty_alone}
    print(f"tensorflow={tf.__version__}")
    for name, function in figures.items():
        print(f"{name}={median_ms(function, args.calls, args.rounds):.2f}")


if __name__ == "__main__":
    main()
