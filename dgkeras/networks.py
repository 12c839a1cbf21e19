"""Keras builders for the DoppelGANger networks.

The networks see only arrays: output layouts arrive as lists of
:class:`~dgkeras.columns.Output` blocks (width + activation). The five
submodels are

* the attribute generator, an MLP from noise to attributes;
* the min/max generator, an MLP from (noise, attributes) to the per-series
  min/max "fake" attributes of auto-normalisation;
* the feature generator, an LSTM whose every step reads (attributes, min/max,
  noise) and emits ``sample_len`` records, each followed by a 2-way
  generation flag (batched generation); with ``noise_skip`` the step's noise
  also reaches the layer that emits the records directly;
* the critic, an MLP over (attributes, min/max, all records flattened);
* the auxiliary critic, an MLP over (attributes, min/max).

The critics are row-wise (no batch normalisation), as the per-example
gradient penalty requires.

With ``mixed_precision=True`` the hidden layers compute in float16 (Keras'
``mixed_float16`` policy, for GPU tensor cores) while variables, output
layers and their activations stay float32, so every network's output is
float32 either way.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence

import tensorflow as tf

from .outputs import Output, ended

ACTIVATIONS = {"softmax": tf.nn.softmax, "sigmoid": tf.sigmoid, "tanh": tf.tanh}


class _Seeds:
    """Distinct, reproducible initializer seeds for the layers of one network."""

    def __init__(self, seed: int) -> None:
        self._next = int(seed)

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        self._next += 1
        return self._next


def _glorot(seeds: _Seeds) -> tf.keras.initializers.Initializer:
    return tf.keras.initializers.GlorotUniform(seed=next(seeds))


def _hidden_dtype(mixed_precision: bool) -> "str | None":
    """Dtype policy of hidden layers: ``mixed_float16`` or the global default."""
    return "mixed_float16" if mixed_precision else None


def _output_dtype(mixed_precision: bool) -> "str | None":
    """Output layers stay float32 under mixed precision (softmax and the losses
    need its range)."""
    return "float32" if mixed_precision else None


class BlockActivation(tf.keras.layers.Layer):
    """Apply each output block's own activation (softmax per categorical block, ...).

    Parameters
    ----------
    dims : list of int
        Widths of the blocks along the last axis.
    activations : list of str
        ``"softmax"``, ``"sigmoid"`` or ``"tanh"`` for each block.
    """

    def __init__(self, dims: Sequence[int], activations: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.dims = [int(d) for d in dims]
        self.activations = list(activations)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        parts = tf.split(inputs, self.dims, axis=-1)
        return tf.concat([ACTIVATIONS[a](p) for p, a in zip(parts, self.activations)], axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims, "activations": self.activations}


def harden(values: tf.Tensor, outputs: Sequence[Output]) -> tf.Tensor:
    """Replace each softmax block by the one-hot of its argmax; keep other blocks.

    The feature and min/max generators are conditioned on hard attribute
    values, as the generated data will be, with no gradient through the
    argmax (as in the original DoppelGANger).
    """
    if not outputs:
        return values
    parts = tf.split(values, [o.dim for o in outputs], axis=-1)
    hard = [tf.one_hot(tf.argmax(p, axis=-1), o.dim, dtype=p.dtype) if o.activation == "softmax"
            else p for p, o in zip(parts, outputs)]
    return tf.stop_gradient(tf.concat(hard, axis=-1))


def mask_after_end(records: tf.Tensor) -> tf.Tensor:
    """Zero every record after the first whose generation flag says "ended".

    Parameters
    ----------
    records : Tensor, shape (batch, T, width)
        The last two columns are the generation flag pair (goes on, ended).

    Returns
    -------
    Tensor
        The same records, the ending record kept, the ones after it zeroed,
        as the real data is padded.
    """
    stops = tf.cast(ended(records), records.dtype)
    # alive[t] = prod_{s < t} (1 - stops[s]): exclusive cumulative product.
    alive = tf.math.cumprod(1.0 - stops, axis=1, exclusive=True)
    return records * tf.stop_gradient(alive)[:, :, None]


def pack(samples: tf.Tensor, packing: int) -> tf.Tensor:
    """Lay ``packing`` samples side by side, as a packed critic reads them (PacGAN).

    Parameters
    ----------
    samples : Tensor, shape (n, width)
        Critic inputs; ``n`` a multiple of ``packing``.
    packing : int
        Samples per pack.

    Returns
    -------
    Tensor, shape (n / packing, packing * width)
        Pack ``i`` holds rows ``i, i + n / packing, ...``: each pack takes one
        row from each of ``packing`` consecutive blocks, so a distributed
        step whose replicas hold rows ``r, r + R, ...`` forms the same packs
        as one device when ``n / packing`` is a multiple of ``R``.
    """
    if packing == 1:
        return samples
    width = samples.shape[-1] if samples.shape[-1] is not None else tf.shape(samples)[-1]
    blocks = tf.reshape(samples, (packing, -1, width))
    return tf.reshape(tf.transpose(blocks, (1, 0, 2)), (-1, packing * width))


def _mlp(x: tf.Tensor, units: Sequence[int], seeds: _Seeds, prefix: str,
         mixed_precision: bool = False) -> tf.Tensor:
    for i, width in enumerate(units):
        x = tf.keras.layers.Dense(width, activation="relu", kernel_initializer=_glorot(seeds),
                                  dtype=_hidden_dtype(mixed_precision),
                                  name=f"{prefix}_dense_{i}")(x)
    return x


def _head(x: tf.Tensor, outputs: List[Output], seeds: _Seeds, prefix: str,
          mixed_precision: bool = False) -> tf.Tensor:
    width = sum(o.dim for o in outputs)
    dtype = _output_dtype(mixed_precision)
    x = tf.keras.layers.Dense(width, kernel_initializer=_glorot(seeds), dtype=dtype,
                              name=f"{prefix}_out")(x)
    return BlockActivation([o.dim for o in outputs], [o.activation for o in outputs],
                           dtype=dtype, name=f"{prefix}_activation")(x)


def build_attribute_generator(noise_dim: int, outputs: List[Output], units: Sequence[int],
                              seed: int, mixed_precision: bool = False) -> tf.keras.Model:
    """MLP: attribute noise -> attributes (one output block per attribute).

    Parameters
    ----------
    noise_dim : int
        Width of the noise input.
    outputs : list of Output
        Attribute output blocks.
    units : sequence of int
        Hidden layer widths.
    seed : int
        Initializer seed.
    mixed_precision : bool
        Hidden layers in float16 (see the module docstring).

    Returns
    -------
    tf.keras.Model
    """
    seeds = _Seeds(seed)
    noise = tf.keras.Input((noise_dim,), name="attribute_noise")
    x = _mlp(noise, units, seeds, "attribute", mixed_precision)
    return tf.keras.Model(noise, _head(x, outputs, seeds, "attribute", mixed_precision),
                          name="attribute_generator")


def build_minmax_generator(noise_dim: int, attribute_dim: int, outputs: List[Output],
                           units: Sequence[int], seed: int,
                           mixed_precision: bool = False) -> tf.keras.Model:
    """MLP: (noise, attributes) -> per-series min/max fake attributes.

    Parameters
    ----------
    noise_dim : int
        Width of the noise input.
    attribute_dim : int
        Width of the (hard) attribute input; may be 0.
    outputs : list of Output
        Min/max output blocks.
    units : sequence of int
        Hidden layer widths.
    seed : int
        Initializer seed.
    mixed_precision : bool
        Hidden layers in float16 (see the module docstring).

    Returns
    -------
    tf.keras.Model
        Called on ``[noise, attributes]``.
    """
    seeds = _Seeds(seed)
    noise = tf.keras.Input((noise_dim,), name="minmax_noise")
    attributes = tf.keras.Input((attribute_dim,), name="attributes")
    x = tf.keras.layers.Concatenate(name="minmax_input")([noise, attributes])
    x = _mlp(x, units, seeds, "minmax", mixed_precision)
    return tf.keras.Model([noise, attributes],
                          _head(x, outputs, seeds, "minmax", mixed_precision),
                          name="minmax_generator")


def build_feature_generator(condition_dim: int, noise_dim: int, n_steps: int, sample_len: int,
                            outputs: List[Output], lstm_units: int, lstm_layers: int,
                            seed: int, mixed_precision: bool = False,
                            noise_skip: bool = False) -> tf.keras.Model:
    """Batched LSTM: per-step (condition, noise) -> ``sample_len`` records per step.

    Parameters
    ----------
    condition_dim : int
        Width of attributes + min/max, repeated at every step.
    noise_dim : int
        Width of the per-step feature noise.
    n_steps : int
        LSTM steps, T / S.
    sample_len : int
        Records emitted per step (S).
    outputs : list of Output
        Output blocks of one record, generation flag last.
    lstm_units, lstm_layers : int
        Size of the LSTM stack.
    seed : int
        Initializer seed.
    mixed_precision : bool
        Hidden layers (the LSTM) in float16 (see the module docstring).
    noise_skip : bool
        Feed each step's noise to the records' output layer beside the LSTM's
        output, so that records can vary from one to the next without the
        LSTM carrying that variation.

    Returns
    -------
    tf.keras.Model
        Called on ``[condition (batch, C), noise (batch, n_steps, noise_dim)]``,
        returns records of shape (batch, n_steps * sample_len, width), unmasked.
    """
    seeds = _Seeds(seed)
    condition = tf.keras.Input((condition_dim,), name="condition")
    noise = tf.keras.Input((n_steps, noise_dim), name="feature_noise")
    repeated = tf.keras.layers.RepeatVector(n_steps, name="condition_per_step")(condition)
    x = tf.keras.layers.Concatenate(name="lstm_input")([repeated, noise])
    for i in range(lstm_layers):
        # Default activations keep the fused (cuDNN) kernel available on GPUs.
        x = tf.keras.layers.LSTM(
            lstm_units, return_sequences=True, kernel_initializer=_glorot(seeds),
            recurrent_initializer=tf.keras.initializers.Orthogonal(seed=next(seeds)),
            dtype=_hidden_dtype(mixed_precision), name=f"lstm_{i}")(x)
    width = sum(o.dim for o in outputs)
    dtype = _output_dtype(mixed_precision)
    if noise_skip:  # in the output layer's dtype: float32 under mixed precision too
        x = tf.keras.layers.Concatenate(dtype=dtype, name="records_input")([x, noise])
    x = tf.keras.layers.Dense(sample_len * width, kernel_initializer=_glorot(seeds),
                              dtype=dtype, name="records_out")(x)
    x = tf.keras.layers.Reshape((n_steps * sample_len, width), dtype=dtype, name="records")(x)
    x = BlockActivation([o.dim for o in outputs], [o.activation for o in outputs],
                        dtype=dtype, name="records_activation")(x)
    return tf.keras.Model([condition, noise], x, name="feature_generator")


def build_critic(input_dim: int, units: Sequence[int], seed: int,
                 name: str = "critic", mixed_precision: bool = False) -> tf.keras.Model:
    """Row-wise MLP critic: flattened sample -> Wasserstein score.

    Parameters
    ----------
    input_dim : int
        Width of the flattened input.
    units : sequence of int
        Hidden layer widths.
    seed : int
        Initializer seed.
    name : str
        Model name.
    mixed_precision : bool
        Hidden layers in float16, the score in float32.

    Returns
    -------
    tf.keras.Model
    """
    seeds = _Seeds(seed)
    inputs = tf.keras.Input((input_dim,), name=f"{name}_input")
    x = _mlp(inputs, units, seeds, name, mixed_precision)
    score = tf.keras.layers.Dense(1, kernel_initializer=_glorot(seeds),
                                  dtype=_output_dtype(mixed_precision),
                                  name=f"{name}_score")(x)
    return tf.keras.Model(inputs, score, name=name)
