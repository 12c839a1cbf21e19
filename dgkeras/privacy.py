"""Differential privacy: DP-SGD for the critics and its accounting.

The accounting calls dp-accounting; the Gaussian noise comes from
:mod:`dgkeras.dp_noise` (drawn by dgkeras from the fit's seed, or by
TensorFlow Privacy where it imports).

Mechanism
    Only the critic and the auxiliary critic read real series; the
    generator sees real data only through them, so it trains normally
    (post-processing). At every critic update each real series in the batch
    contributes one per-example gradient over *both* critics' variables (its
    Wasserstein and gradient-penalty terms, paired with one generated
    series). Each per-example gradient is clipped to L2 norm
    ``l2_norm_clip`` *jointly* over both critics, the clipped gradients are
    summed, N(0, (noise_multiplier * l2_norm_clip)^2) noise is added to
    every coordinate of the sum (:mod:`dgkeras.dp_noise`), and the sum is
    divided by the expected batch size. Clipping jointly makes each critic
    update one Gaussian mechanism of sensitivity ``l2_norm_clip`` (clipping
    the critics separately would be two mechanisms per update).

Sampling
    Batches are Poisson-sampled: every series is in a batch independently
    with probability ``q = batch_size / n_series``, so batch sizes vary
    around ``batch_size``. This is the sampling the accountant assumes; with
    shuffled fixed-size batches the same noise would give a much weaker
    guarantee.

Accounting
    RDP accounting (dp-accounting, as TensorFlow Privacy's own statement)
    of ``steps = ceil(epochs / q)`` Poisson-sampled Gaussian mechanisms.
    With ``critic_steps = k`` the critics are updated k times on the same
    batch: k Gaussian mechanisms with multiplier sigma on the same sample
    compose exactly to one with multiplier sigma / sqrt(k), which is the
    per-step mechanism accounted. (The original DoppelGANger passed
    sigma / 2 for its two critics and ignored extra critic rounds.)

What is protected: membership of any one series (add/remove-one-series
adjacency) in everything the critics learn, and so in every released
checkpoint and sample. What is not: the encoder's schema metadata (category
values, column ranges, the time grid, the longest length) are read from the
data without noise; give public values or coarsen them where they are
sensitive.

How much a model leaks is measured, not proved, by
:func:`dgkeras.membership.membership_inference` (also importable from here).
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .dp_noise import add_gaussian_noise, resolve_noise_source
from .exceptions import DataError
from .params import apply_rule, check

#: Search interval for the noise multiplier when calibrating to a budget.
_SIGMA_BRACKET = (1e-3, 1e4)


# ------------------------------------------------------------- settings
@dataclass(frozen=True)
class DPSettings:
    """A DP-SGD configuration resolved for one fit.

    Attributes
    ----------
    noise_multiplier : float
        sigma of each critic update (noise std / l2_norm_clip).
    l2_norm_clip : float
        Per-example gradient norm bound C.
    sampling_probability : float
        Poisson sampling rate q = batch_size / n_series.
    expected_batch_size : float
        q * n_series, the divisor of the noised gradient sum.
    steps : int
        Number of Poisson-sampled batches, ceil(epochs / q).
    uses_per_step : int
        Critic updates on each batch (``critic_steps``).
    delta : float
        Target delta.
    target_epsilon : float or None
        The epsilon asked for, when sigma was calibrated to it.
    noise_source : {"dgkeras", "tf-privacy"}
        Where the Gaussian noise is drawn (:mod:`dgkeras.dp_noise`).
    """

    noise_multiplier: float
    l2_norm_clip: float
    sampling_probability: float
    expected_batch_size: float
    steps: int
    uses_per_step: int
    delta: float
    target_epsilon: Optional[float] = None
    noise_source: str = "dgkeras"

    @property
    def step_noise_multiplier(self) -> float:
        """sigma / sqrt(uses_per_step): the one Gaussian mechanism a step amounts to."""
        return self.noise_multiplier / math.sqrt(self.uses_per_step)

    @property
    def epsilon(self) -> float:
        """The epsilon spent by a fit that runs all ``steps``."""
        return compute_epsilon(self.step_noise_multiplier, self.sampling_probability,
                               self.steps, self.delta)


def _not_convergence_warning(record: logging.LogRecord) -> bool:
    return "failed to converge" not in record.getMessage()


@contextlib.contextmanager
def _quiet_accountant():
    # dp-accounting 0.6 logs a warning for each fractional RDP order whose series
    # does not converge (dozens per calibration at sampling rates above ~0.1) and
    # leaves that order out, which can only raise epsilon: nothing to act on.
    logger = logging.getLogger("absl")
    logger.addFilter(_not_convergence_warning)
    try:
        yield
    finally:
        logger.removeFilter(_not_convergence_warning)


def _dp_event(step_noise_multiplier: float, sampling_probability: float, steps: int):
    import dp_accounting

    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            sampling_probability, dp_accounting.GaussianDpEvent(step_noise_multiplier)),
        steps)


def compute_epsilon(step_noise_multiplier: float, sampling_probability: float, steps: int,
                    delta: float) -> float:
    """Epsilon of ``steps`` Poisson-sampled Gaussian mechanisms (RDP accountant).

    Parameters
    ----------
    step_noise_multiplier : float
        sigma of the per-step mechanism; 0 gives infinity.
    sampling_probability : float
        Poisson sampling rate q.
    steps : int
        Number of steps.
    delta : float

    Returns
    -------
    float
    """
    import dp_accounting

    if step_noise_multiplier <= 0:
        return math.inf
    accountant = dp_accounting.rdp.RdpAccountant()
    with _quiet_accountant():
        accountant.compose(_dp_event(step_noise_multiplier, sampling_probability, steps))
        return float(accountant.get_epsilon(delta))


def compute_noise_multiplier(epsilon: float, delta: float, sampling_probability: float,
                             steps: int, uses_per_step: int = 1) -> float:
    """The smallest sigma per critic update whose fit spends at most ``epsilon``.

    Parameters
    ----------
    epsilon, delta : float
        Target budget.
    sampling_probability : float
        Poisson sampling rate q.
    steps : int
        Number of Poisson-sampled batches.
    uses_per_step : int
        Critic updates per batch; the per-update sigma is sqrt(uses) times
        the per-step sigma.

    Returns
    -------
    float
    """
    import dp_accounting

    with _quiet_accountant():
        step_sigma = dp_accounting.calibrate_dp_mechanism(
            dp_accounting.rdp.RdpAccountant,
            lambda sigma: _dp_event(sigma, sampling_probability, steps),
            epsilon, delta,
            dp_accounting.LowerEndpointAndGuess(_SIGMA_BRACKET[0], 1.0))
    return float(step_sigma) * math.sqrt(uses_per_step)


def resolve_dp_settings(
    epsilon: Optional[float], delta: Optional[float], l2_norm_clip: float,
    noise_multiplier: Optional[float], n_series: int, batch_size: int, epochs: int,
    critic_steps: int, noise_source: str = "auto",
) -> Optional[DPSettings]:
    """Check the DP arguments of a fit and resolve them, or None without DP.

    Parameters
    ----------
    epsilon, delta, l2_norm_clip, noise_multiplier :
        The estimator's DP arguments.
    n_series, batch_size, epochs, critic_steps : int
        The fit's data size and schedule.
    noise_source : {"auto", "dgkeras", "tf-privacy"}
        Where the noise comes from (:func:`dgkeras.dp_noise.resolve_noise_source`).

    Returns
    -------
    DPSettings or None

    Raises
    ------
    DataError
        On unsound settings: epsilon <= 0, delta outside (0, 1/n), a batch
        larger than the data set, a non-positive clip norm, both epsilon and
        noise_multiplier given, a noise source that does not import.
    """
    given = dict(epsilon=epsilon, delta=delta, l2_norm_clip=l2_norm_clip,
                 noise_multiplier=noise_multiplier)
    for name, value in given.items():
        check(name, value)
    apply_rule("epsilon or noise_multiplier", given)
    if epsilon is None and noise_multiplier is None:
        return None
    noise_source = resolve_noise_source(noise_source)
    if n_series < 2:
        raise DataError("differential privacy needs at least 2 series")
    if batch_size > n_series:
        raise DataError(
            f"batch_size={batch_size} is larger than the {n_series} series: DP-SGD samples each "
            "series into a batch with probability batch_size / n_series, which must be < 1; "
            "lower batch_size")
    if delta is None:
        delta = 1.0 / (10 * n_series)
    if not delta < 1.0 / n_series:
        raise DataError(
            f"delta must lie in (0, 1/n_series = {1.0 / n_series:.3g}), got {delta!r}: a delta "
            "of 1/n or more allows releasing a whole series outright")
    q = batch_size / n_series
    steps = int(math.ceil(epochs / q))
    if epsilon is not None:
        noise_multiplier = compute_noise_multiplier(epsilon, delta, q, steps, critic_steps)
    return DPSettings(float(noise_multiplier), float(l2_norm_clip), q, float(batch_size), steps,
                      int(critic_steps), float(delta),
                      None if epsilon is None else float(epsilon), noise_source)


def poisson_batches(n_series: int, sampling_probability: float, steps: int,
                    rng: np.random.Generator):
    """Yield index arrays of Poisson-sampled batches (each series in with probability q)."""
    for _ in range(steps):
        yield np.flatnonzero(rng.random(n_series) < sampling_probability)


# ------------------------------------------------- the noised gradient
def dp_sum_of_clipped_gradients(example_loss: Callable, examples: Sequence, variables: List,
                                settings: DPSettings, noise_shares: int = 1, seed=None):
    """Noised sum of per-example gradients clipped jointly to ``l2_norm_clip``.

    Parameters
    ----------
    example_loss : callable
        ``example_loss(*example) -> scalar`` for one example (slices of
        ``examples`` without the batch axis).
    examples : sequence of Tensor
        Batched inputs, batch axis first; the batch may be empty.
    variables : list of tf.Variable
        Variables to differentiate (both critics').
    settings : DPSettings
    noise_shares : int
        Number of replicas whose results are summed into one update. Each
        adds Gaussian noise of standard deviation
        ``noise_multiplier * l2_norm_clip / sqrt(noise_shares)``, so the sum
        carries one draw of the full scale: noise is added once per global
        batch, however it is split.
    seed : Tensor of shape (2,), optional
        Stateless seed of this replica's noise, required by the ``"dgkeras"``
        noise source; each replica of one update needs its own.

    Returns
    -------
    list of Tensor
        One noised, clipped gradient sum per variable, divided by the
        expected batch size.
    """
    import tensorflow as tf

    clip = settings.l2_norm_clip

    def one_example(example):
        with tf.GradientTape() as tape:
            loss = example_loss(*example)
        grads = tape.gradient(loss, variables)
        return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]

    def clipped_sum():
        # vectorized_map computes every per-example gradient in one pass;
        # clip_by_global_norm inside it would fall back to a slow loop, so
        # the joint norm and the scaling are computed by hand.
        per_example = tf.vectorized_map(one_example, tuple(examples))
        squared = tf.add_n([tf.reduce_sum(tf.reshape(tf.square(g), (tf.shape(g)[0], -1)), 1)
                            for g in per_example])
        scale = tf.minimum(1.0, clip / tf.maximum(tf.sqrt(squared), 1e-12))
        return [tf.tensordot(scale, g, axes=1) for g in per_example]

    batch = tf.shape(examples[0])[0]
    summed = tf.cond(batch > 0, clipped_sum, lambda: [tf.zeros_like(v) for v in variables])
    noised = add_gaussian_noise(summed, settings.noise_multiplier * clip / noise_shares ** 0.5,
                                settings.noise_source, seed, clip)
    return [g / settings.expected_batch_size for g in noised]


class DPSGD:
    """Critic gradients and batches under DP-SGD, for :class:`dgkeras.training.Trainer`.

    The same interface as :class:`dgkeras.training.MeanGradients`: the
    accountant's ``ceil(epochs / q)`` Poisson-sampled batches spread over
    the epochs, and gradients that are the noised sum of per-example
    gradients clipped jointly over all critics
    (:func:`dp_sum_of_clipped_gradients`). The critics' losses, computed
    from real data without noise, are not reported.

    Parameters
    ----------
    settings : DPSettings
    n_series, epochs : int
    """

    #: The critics' losses are not released (NaN in the history).
    reports_losses = False

    def __init__(self, settings: DPSettings, n_series: int, epochs: int) -> None:
        self.settings = settings
        self.n_series = n_series
        # Spread the accountant's steps over the epochs for reporting.
        self._counts = np.diff(np.linspace(0, settings.steps, epochs + 1).round()).astype(int)

    def steps_in_epoch(self, epoch: int) -> int:
        """Train steps of epoch ``epoch``."""
        return int(self._counts[epoch])

    def first_step(self, epoch: int) -> int:
        """Global number of the first step of epoch ``epoch``."""
        return int(self._counts[:epoch].sum())

    def epoch_batches(self, epoch: int, rng: np.random.Generator) -> List[np.ndarray]:
        """The Poisson-sampled index batches of one epoch, drawn from ``rng``."""
        return list(poisson_batches(self.n_series, self.settings.sampling_probability,
                                    self.steps_in_epoch(epoch), rng))

    def critic_gradients(self, terms: Sequence, gp_weight: float, denominator, seed,
                         noise_shares: int):
        """Each term's share of the jointly clipped, noised gradient, and NaN losses.

        ``terms`` are :class:`dgkeras.training.CriticTerm`; ``denominator`` is
        unused (the sum is divided by the expected batch size).
        """
        import tensorflow as tf

        from .losses import critic_example_losses

        def example_loss(*example):
            loss = None
            for i, term in enumerate(terms):
                real, fake, t = example[3 * i:3 * i + 3]
                part = critic_example_losses(term.critic, real[None], fake[None], t[None],
                                             gp_weight)
                loss = part if loss is None else loss + part
            return tf.reduce_sum(loss)

        examples = tuple(x for term in terms for x in (term.real, term.fake, term.t))
        grads = dp_sum_of_clipped_gradients(
            example_loss, examples, [v for term in terms for v in term.variables],
            self.settings, noise_shares=noise_shares, seed=seed)
        split, start = [], 0
        for term in terms:
            split.append(grads[start:start + len(term.variables)])
            start += len(term.variables)
        return split, [tf.constant(float("nan")) for _ in terms]


def privacy_statement(settings: DPSettings, n_series: int, epochs: int) -> Dict[str, float]:
    """The numbers a DP fit should be reported with."""
    return {"epsilon": settings.epsilon, "delta": settings.delta,
            "noise_multiplier": settings.noise_multiplier,
            "l2_norm_clip": settings.l2_norm_clip,
            "sampling_probability": settings.sampling_probability,
            "steps": settings.steps, "n_series": n_series, "epochs": epochs}


def __getattr__(name: str):
    # The attack is evaluation, not accounting; importing it on first use
    # keeps this module free of the metrics it needs.
    if name in ("membership_inference", "MembershipInferenceResult"):
        from . import membership

        return getattr(membership, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
