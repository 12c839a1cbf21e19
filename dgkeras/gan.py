"""The DoppelGANger generator and critics as one object of Keras submodels.

:class:`DoppelGANger` builds the five networks from a plain
:class:`NetworkConfig`, runs the factorised generator
(attributes -> min/max -> records) and lays out critic inputs. It can give
its weights as arrays and take them back, which is all that pickling and
saving keep.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from .networks import (
    build_attribute_generator,
    build_critic,
    build_feature_generator,
    build_minmax_generator,
    harden,
    mask_after_end,
)
from .outputs import Output
from .params import predated

#: With ``jit_sampling``, sampling calls are padded to the next of these sizes
#: (or left as they are when larger), so that XLA compiles a few programs, not
#: one per batch size. Without it one graph serves every batch size.
SAMPLE_BUCKETS = (128, 256, 512, 1024, 2048, 4096)


#: Each network's initializer seed is the fit's seed plus its offset here, so
#: that no two networks start alike; refitting the attributes builds a fresh
#: "attribute_critic".
INITIALIZER_SEED_OFFSETS = {"attribute_generator": 100, "minmax_generator": 200,
                            "feature_generator": 300, "critic": 400, "aux_critic": 500,
                            "attribute_critic": 600}


def initializer_seed(seed: int, network: str) -> int:
    """The initializer seed of ``network`` (a key of :data:`INITIALIZER_SEED_OFFSETS`)."""
    return seed + INITIALIZER_SEED_OFFSETS[network]


def padded_size(size: int) -> int:
    """The batch size a sampling call of ``size`` series is padded to."""
    return next((bucket for bucket in SAMPLE_BUCKETS if bucket >= size), size)


@dataclass
class NetworkConfig:
    """Everything needed to rebuild the networks (plain Python values only)."""

    attribute_outputs: List[Output]
    minmax_outputs: List[Output]
    feature_outputs: List[Output]
    n_steps: int
    sample_len: int
    attribute_noise_dim: int = 5
    feature_noise_dim: int = 5
    attribute_units: Tuple[int, ...] = (100, 100, 100)
    lstm_units: int = 100
    lstm_layers: int = 1
    critic_units: Tuple[int, ...] = (200, 200, 200, 200, 200)
    aux_critic: bool = True
    packing: int = 1
    seed: int = 0
    mixed_precision: bool = False
    jit_sampling: bool = False
    noise_skip: bool = False

    @property
    def attribute_dim(self) -> int:
        """Width of the encoded attributes."""
        return sum(o.dim for o in self.attribute_outputs)

    @property
    def minmax_dim(self) -> int:
        """Width of the min/max fake attributes."""
        return sum(o.dim for o in self.minmax_outputs)

    @property
    def record_dim(self) -> int:
        """Width of one encoded record, flags included."""
        return sum(o.dim for o in self.feature_outputs)

    @property
    def padded_len(self) -> int:
        """Records per series as generated, T rounded up to a multiple of S."""
        return self.n_steps * self.sample_len

    def noise_shapes(self, batch) -> List[tuple]:
        """Shapes of the generator's three noise inputs for ``batch`` series: attribute,
        min/max and feature noise (one vector per LSTM step), in that order."""
        return [(batch, self.attribute_noise_dim), (batch, self.attribute_noise_dim),
                (batch, self.n_steps, self.feature_noise_dim)]

    def to_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkConfig":
        """Inverse of :meth:`to_dict`."""
        data = {**{k: v for k, v in predated(data).items() if k in _FIELDS}, **data}
        for key in ("attribute_outputs", "minmax_outputs", "feature_outputs"):
            data[key] = [Output(**o) if isinstance(o, dict) else Output(*o) for o in data[key]]
        for key in ("attribute_units", "critic_units"):
            data[key] = tuple(int(u) for u in data[key])
        return cls(**data)


_FIELDS = {f.name for f in fields(NetworkConfig)}


class DoppelGANger:
    """The generator (three submodels) and the two critics.

    Parameters
    ----------
    config : NetworkConfig
    """

    def __init__(self, config: NetworkConfig) -> None:
        self.config = config
        c = config
        self.attribute_generator: Optional[tf.keras.Model] = None
        if c.attribute_dim:
            self.attribute_generator = build_attribute_generator(
                c.attribute_noise_dim, c.attribute_outputs, c.attribute_units,
                initializer_seed(c.seed, "attribute_generator"),
                c.mixed_precision)
        self.minmax_generator: Optional[tf.keras.Model] = None
        if c.minmax_dim:
            self.minmax_generator = build_minmax_generator(
                c.attribute_noise_dim, c.attribute_dim, c.minmax_outputs, c.attribute_units,
                initializer_seed(c.seed, "minmax_generator"), c.mixed_precision)
        self.feature_generator = build_feature_generator(
            c.attribute_dim + c.minmax_dim, c.feature_noise_dim, c.n_steps, c.sample_len,
            c.feature_outputs, c.lstm_units, c.lstm_layers,
            initializer_seed(c.seed, "feature_generator"), c.mixed_precision, c.noise_skip)
        # With packing, each critic judges `packing` samples side by side.
        self.critic = build_critic(
            c.packing * (c.attribute_dim + c.minmax_dim + c.padded_len * c.record_dim),
            c.critic_units, initializer_seed(c.seed, "critic"), name="critic",
            mixed_precision=c.mixed_precision)
        self.aux_critic: Optional[tf.keras.Model] = None
        if c.aux_critic and c.attribute_dim + c.minmax_dim:
            self.aux_critic = build_critic(c.packing * (c.attribute_dim + c.minmax_dim),
                                           c.critic_units, initializer_seed(c.seed, "aux_critic"),
                                           name="aux_critic",
                                           mixed_precision=c.mixed_precision)
        self._xla_failed = False  # set when XLA could not compile the generators here
        # The compiled sampling functions (without and with given attributes), made on use.
        self._sampling_functions: Optional[Tuple[tf.types.experimental.GenericFunction,
                                                 tf.types.experimental.GenericFunction]] = None
        # The feature generator alone, XLA-compiled with jit_sampling unless XLA failed.
        self._records_function: Optional[tf.types.experimental.GenericFunction] = None

    # -------------------------------------------------------------- networks
    @property
    def generators(self) -> List[tf.keras.Model]:
        """The generator submodels that exist for this data."""
        nets = [self.attribute_generator, self.minmax_generator, self.feature_generator]
        return [n for n in nets if n is not None]

    @property
    def networks(self) -> Dict[str, tf.keras.Model]:
        """All submodels by name."""
        nets = {"attribute_generator": self.attribute_generator,
                "minmax_generator": self.minmax_generator,
                "feature_generator": self.feature_generator,
                "critic": self.critic, "aux_critic": self.aux_critic}
        return {k: v for k, v in nets.items() if v is not None}

    def get_weights(self) -> Dict[str, List[np.ndarray]]:
        """Weights of every submodel as numpy arrays."""
        return {name: net.get_weights() for name, net in self.networks.items()}

    def set_weights(self, weights: Dict[str, List[np.ndarray]]) -> None:
        """Load weights from :meth:`get_weights` output."""
        networks = self.networks
        if set(weights) != set(networks):
            raise ValueError(
                f"weights are for networks {sorted(weights)}, the model has {sorted(networks)}")
        for name, net in networks.items():
            net.set_weights(weights[name])

    # ------------------------------------------------------------ generation
    def generate(self, attribute_noise: tf.Tensor, minmax_noise: tf.Tensor,
                 feature_noise: tf.Tensor, given_attributes: Optional[tf.Tensor] = None,
                 training: bool = False, mask: bool = True):
        """Run the factorised generator.

        Parameters
        ----------
        attribute_noise, minmax_noise : Tensor, shape (batch, attribute_noise_dim)
        feature_noise : Tensor, shape (batch, n_steps, feature_noise_dim)
        given_attributes : Tensor, shape (batch, A), optional
            Encoded attributes to condition on instead of generating them.
        training : bool
            Passed to the Keras submodels.
        mask : bool
            Zero records after each series' generated end (as the critic
            must see them); sampling takes the raw records.

        Returns
        -------
        attributes, minmax, records : Tensor
            Soft attributes (batch, A), min/max (batch, M), records
            (batch, T, width).
        """
        attributes, minmax, condition = self.generate_condition(
            attribute_noise, minmax_noise, tf.shape(feature_noise)[0], given_attributes,
            training)
        records = self.feature_generator([condition, feature_noise], training=training)
        if mask:
            records = mask_after_end(records)
        return attributes, minmax, records

    def generate_condition(self, attribute_noise: tf.Tensor, minmax_noise: tf.Tensor,
                           batch: tf.Tensor, given_attributes: Optional[tf.Tensor] = None,
                           training: bool = False):
        """The attributes and min/max of a batch, and the condition of its records.

        Parameters
        ----------
        attribute_noise, minmax_noise : Tensor, shape (batch, attribute_noise_dim)
        batch : Tensor
            The batch size, for the empty blocks of data without attributes
            or min/max.
        given_attributes : Tensor, shape (batch, A), optional
            Encoded attributes to condition on instead of generating them.
        training : bool
            Passed to the Keras submodels.

        Returns
        -------
        attributes, minmax, condition : Tensor
            Soft attributes (batch, A), min/max (batch, M), and the hard
            attributes beside the min/max (batch, A + M), which every step
            of the feature generator reads.
        """
        if given_attributes is not None:
            attributes = tf.cast(given_attributes, tf.float32)
            hard_attributes = attributes
        elif self.attribute_generator is not None:
            attributes = self.attribute_generator(attribute_noise, training=training)
            hard_attributes = harden(attributes, self.config.attribute_outputs)
        else:
            attributes = tf.zeros((batch, 0))
            hard_attributes = attributes
        if self.minmax_generator is not None:
            minmax = self.minmax_generator([minmax_noise, hard_attributes], training=training)
        else:
            minmax = tf.zeros((batch, 0))
        condition = tf.stop_gradient(tf.concat([hard_attributes, minmax], axis=1))
        return attributes, minmax, condition

    def sample_arrays(self, attribute_noise: np.ndarray, minmax_noise: np.ndarray,
                      feature_noise: np.ndarray, given_attributes: Optional[np.ndarray] = None,
                      strategy: Optional[tf.distribute.Strategy] = None):
        """Generate unmasked outputs for one chunk of noise, as read-only numpy arrays.

        The compiled functions are made on first use with a free batch
        dimension in their signature, so one trace serves every chunk size;
        they are not pickled. With ``jit_sampling`` the chunk is padded to
        :func:`padded_size` rows, so that XLA compiles a few programs (the
        extra rows are generated and dropped: every row is generated
        independently of the others). With a strategy of several local
        replicas (``MirroredStrategy``) the chunk is split across them.
        """
        size = len(feature_noise)
        inputs = [attribute_noise, minmax_noise, feature_noise]
        if given_attributes is not None:
            inputs.append(given_attributes)
        padding = padded_size(size) - size if self._uses_xla else 0
        if padding:
            inputs = [np.concatenate([x, np.zeros((padding,) + x.shape[1:], np.float32)])
                      for x in inputs]
        try:
            outputs = self._run_sampling(inputs, strategy)
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError) as error:
            if not self._uses_xla:
                raise
            # A platform whose XLA cannot compile the generators: run them as plain graphs.
            warnings.warn(f"XLA could not compile the generators ({type(error).__name__}: "
                          f"{error.message}); sampling without it", RuntimeWarning,
                          stacklevel=2)
            self._xla_failed = True
            self._sampling_functions = None
            outputs = self._run_sampling(inputs, strategy)
        return tuple(o[:size] for o in outputs)

    @property
    def _uses_xla(self) -> bool:
        """Whether sampling compiles the feature generator with XLA (``jit_sampling``, and
        XLA has not failed here)."""
        return self.config.jit_sampling and not self._xla_failed

    def _run_sampling(self, inputs: List[np.ndarray],
                      strategy: Optional[tf.distribute.Strategy]) -> tuple:
        if self._sampling_functions is None:
            self._sampling_functions = self._make_sampling_functions()
        function = self._sampling_functions[len(inputs) - 3]
        if strategy is None or strategy.num_replicas_in_sync < 2:
            # Read-only views of the tensors' memory: .numpy() would copy
            # every output, tens of megabytes per call.
            return tuple(np.asarray(memoryview(o)) for o in function(*inputs))
        # Replica r generates rows r, r + R, ... of the chunk; the rows are put back
        # in order, so the output does not depend on the number of replicas.
        replicas = strategy.num_replicas_in_sync
        shares = tuple(strategy.experimental_distribute_values_from_function(
            lambda context, x=x: tf.constant(x[context.replica_id_in_sync_group::replicas]))
            for x in inputs)
        # A plain callable: strategy.run would hand a tf.function the PerReplica values.
        per_replica = strategy.run(lambda *share: function(*share), args=shares)
        results = list(zip(*(strategy.experimental_local_results(o) for o in per_replica)))
        outputs = []
        for k in range(3):
            merged = np.empty((len(inputs[0]),) + tuple(results[0][k].shape[1:]),
                              dtype=np.float32)
            for replica, result in enumerate(results):
                merged[replica::replicas] = memoryview(result[k])
            outputs.append(merged)
        return tuple(outputs)

    def _make_sampling_functions(self) -> Tuple[tf.types.experimental.GenericFunction,
                                                tf.types.experimental.GenericFunction]:
        """The sampling functions without and with given attributes.

        With ``jit_sampling`` only the feature generator is compiled with
        XLA, as a function of its own that both call: its LSTM is where XLA's
        speed-up is, while the attribute and min/max MLPs run as fast without
        it and would double the compilation time (figures in docs/speed.rst).
        """
        c = self.config
        noise_specs = [tf.TensorSpec((None, c.attribute_noise_dim), tf.float32),
                       tf.TensorSpec((None, c.attribute_noise_dim), tf.float32),
                       tf.TensorSpec((None, c.n_steps, c.feature_noise_dim), tf.float32)]
        condition_spec = tf.TensorSpec((None, c.attribute_dim + c.minmax_dim), tf.float32)
        given_spec = tf.TensorSpec((None, c.attribute_dim), tf.float32)
        self._records_function = tf.function(
            lambda condition, noise: self.feature_generator([condition, noise], training=False),
            input_signature=[condition_spec, noise_specs[2]], autograph=False,
            jit_compile=self._uses_xla)

        def generate(attribute_noise, minmax_noise, feature_noise, given_attributes=None):
            attributes, minmax, condition = self.generate_condition(
                attribute_noise, minmax_noise, tf.shape(feature_noise)[0], given_attributes)
            return attributes, minmax, self._records_function(condition, feature_noise)

        return (tf.function(lambda za, zm, zf: generate(za, zm, zf),
                            input_signature=noise_specs, autograph=False),
                tf.function(generate, input_signature=noise_specs + [given_spec],
                            autograph=False))

    def sample_attribute_arrays(self, attribute_noise: np.ndarray) -> np.ndarray:
        """Attributes alone (soft, as generated) for a batch of noise, as numpy."""
        if self.attribute_generator is None:
            return np.zeros((len(attribute_noise), 0), np.float32)
        return self.attribute_generator(attribute_noise, training=False).numpy()

    @staticmethod
    def critic_inputs(attributes: tf.Tensor, minmax: tf.Tensor, records: tf.Tensor):
        """Inputs of the critic (everything, records flattened) and of the aux critic."""
        batch = tf.shape(records)[0]
        flat = tf.reshape(records, (batch, -1))
        return (tf.concat([attributes, minmax, flat], axis=1),
                tf.concat([attributes, minmax], axis=1))
