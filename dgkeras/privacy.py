"""Differential privacy: DP-SGD for the critics, accounting, membership inference.

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
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from .dp_noise import add_gaussian_noise, resolve_noise_source
from .exceptions import DataError
from .metrics import nearest_distances
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


# ------------------------------------------------- membership inference
@dataclass
class MembershipInferenceResult:
    """Outcome of :func:`membership_inference`.

    Attributes
    ----------
    success_rate : float
        Accuracy of the attack on the balanced member / non-member set
        (0.5 is chance).
    threshold : float
        Distance below which a series is called a member.
    member_distances, non_member_distances : ndarray
        Distance of each candidate to its nearest generated series.
    """

    success_rate: float
    threshold: float
    member_distances: np.ndarray
    non_member_distances: np.ndarray


def _series_vectors(synth, df: pd.DataFrame) -> np.ndarray:
    # Candidates may hold categories the model never saw: they encode as zeros.
    data = synth.encoder_.transform(df, handle_unknown="ignore")
    flat = data.features.reshape(len(data.features), -1)
    return np.concatenate([data.attributes, data.minmax, flat], axis=1).astype(np.float64)


def membership_inference(synth, train_df: pd.DataFrame, holdout_df: pd.DataFrame,
                         n_generated: Optional[int] = None,
                         random_state: Optional[int] = None) -> MembershipInferenceResult:
    """Distance-based membership inference on generated samples (paper Sec. 6.2).

    The attacker sees generated series only. A candidate series is called a
    training member when its nearest generated series (Euclidean distance in
    the model's encoded space) is closer than the median nearest distance
    over all candidates. Candidates are balanced: as many training series as
    holdout series.

    Parameters
    ----------
    synth : DGSynthesizer
        A fitted model.
    train_df : pandas.DataFrame
        Series the model was trained on (members).
    holdout_df : pandas.DataFrame
        Series of the same population it never saw (non-members).
    n_generated : int, optional
        Generated series to compare against; default: as many as training series.
    random_state : int, optional
        Seed of the generated sample and of the member subsample.

    Returns
    -------
    MembershipInferenceResult
    """
    from sklearn.utils.validation import check_is_fitted

    from .cleaning import prepare_frame

    check_is_fitted(synth, "model_")
    schema = synth.schema_
    frames = []
    for name, frame in (("train_df", train_df), ("holdout_df", holdout_df)):
        try:
            # Filled in as fit fills its data, so members look as they did in training.
            frames.append(prepare_frame(frame, schema))
        except DataError as exc:
            raise DataError(f"{name}: {exc}") from exc
    members = _series_vectors(synth, frames[0])
    non_members = _series_vectors(synth, frames[1])
    n_generated = n_generated or len(members)
    rng = np.random.default_rng(random_state)
    k = min(len(members), len(non_members))
    members = members[rng.choice(len(members), k, replace=False)]
    non_members = non_members[rng.choice(len(non_members), k, replace=False)]
    generated_df = synth.sample(n_generated, random_state=random_state)
    generated = _series_vectors(synth, generated_df)
    member_d = nearest_distances(members, generated)
    non_member_d = nearest_distances(non_members, generated)
    threshold = float(np.median(np.concatenate([member_d, non_member_d])))
    correct = (member_d < threshold).sum() + (non_member_d >= threshold).sum()
    return MembershipInferenceResult(float(correct / (2 * k)), threshold, member_d, non_member_d)


def privacy_statement(settings: DPSettings, n_series: int, epochs: int) -> Dict[str, float]:
    """The numbers a DP fit should be reported with."""
    return {"epsilon": settings.epsilon, "delta": settings.delta,
            "noise_multiplier": settings.noise_multiplier,
            "l2_norm_clip": settings.l2_norm_clip,
            "sampling_probability": settings.sampling_probability,
            "steps": settings.steps, "n_series": n_series, "epochs": epochs}
