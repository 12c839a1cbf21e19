"""The estimator's parameters: one table of constraints, the rules between them, their groups.

Every constructor argument of :class:`~dgkeras.DGSynthesizer` has one row in
:data:`PARAMETERS`: what values it takes and which part of a fit it belongs
to (the data cleaning, the encoder, the networks, the training, differential
privacy, or how a fit runs and reports). :func:`validate_params` checks a
whole parameter set against the table and the cross-parameter :data:`RULES`;
:func:`group` hands each part of a fit its parameters, normalised (units as
tuples, flags as ``bool``). Checks that need the data (``sample_len`` against
the longest series, ``delta`` against ``1 / n_series``, a batch against the
number of series) live beside the data, not here.

Lower-level entry points that take these values directly (``Encoder``,
``prepare_frame``, ``resolve_dp_settings``) check them with :func:`check`
against the same rows, so a value is judged the same way wherever it
arrives. Nothing here imports TensorFlow or pandas.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from .exceptions import DataError

ZERO_ONE = "zero_one"
MINUS_ONE_ONE = "minus_one_one"
NORMALIZATIONS = (ZERO_ONE, MINUS_ONE_ONE)
TIME_MODES = ("grid", "learned")
MINMAX_SCALES = ("unit", "log", "log_min", "quantile")
INVALID_SERIES = ("error", "drop")
LONG_SERIES = ("error", "truncate", "split")
NOISE_SOURCES = ("auto", "dgkeras", "tf-privacy")
AUTO = "auto"

#: Epochs between scorings of the generator for ``keep_best_every="auto"``.
KEEP_BEST_EVERY = 10

#: The parts of a fit, in the order a fit uses them.
GROUPS = ("data", "encoder", "network", "training", "dp", "run")


def is_integer(value: Any) -> bool:
    """An integer of Python or NumPy, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_auto(value: Any) -> bool:
    """Whether ``value`` is the string ``"auto"``."""
    return isinstance(value, str) and value == AUTO


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class Constraint:
    """What one parameter accepts; ``check`` raises DataError in a fixed form.

    Parameters
    ----------
    accepts : callable
        True for an acceptable value.
    description : str
        What the message says the value must be or do, completing
        ``"<name> must ..."``.
    normalize : callable, optional
        The form the rest of the package is given (e.g. a tuple of int).
    from_json : callable, optional
        The parameter's value from its JSON form in a saved model (JSON has
        lists, not tuples).
    """

    def __init__(self, accepts: Callable[[Any], bool], description: str,
                 normalize: Callable[[Any], Any] = lambda value: value,
                 from_json: Callable[[Any], Any] = lambda value: value) -> None:
        self.accepts = accepts
        self.description = description
        self.normalize = normalize
        self.from_json = from_json

    def check(self, name: str, value: Any) -> None:
        """Raise DataError naming ``name`` unless ``value`` is acceptable."""
        if not self.accepts(value):
            raise DataError(f"{name} must {self.description}, got {value!r}")


def integer(low: int = 1, none: bool = False, auto: bool = False) -> Constraint:
    """An integer >= ``low`` (not a bool), optionally None or ``"auto"``."""
    what = "a positive integer" if low == 1 else f"an integer >= {low}"
    what += " or 'auto'" if auto else ""
    what += " or None" if none else ""
    return Constraint(
        lambda v: (none and v is None) or (auto and is_auto(v))
        or (is_integer(v) and v >= low),
        f"be {what}", lambda v: v if v is None or isinstance(v, str) else int(v))


def real(low: float = 0.0, low_open: bool = False, high: Optional[float] = None,
         none: bool = False, finite: bool = False, auto: bool = False,
         description: Optional[str] = None) -> Constraint:
    """A real number (not a bool, not NaN) in [low, high) or (low, high), optionally ``"auto"``."""
    def accepts(v: Any) -> bool:
        if (none and v is None) or (auto and is_auto(v)):
            return True
        if not _is_real(v) or math.isnan(v) or (finite and math.isinf(v)):
            return False
        above = v > low if low_open else v >= low
        return above and (high is None or v < high)

    if description is None:
        description = "be a positive number" if low_open else "be a non-negative number"
        description += " or 'auto'" if auto else ""
    return Constraint(accepts, description,
                      lambda v: v if v is None or isinstance(v, str) else float(v))


def options(choices: Sequence[str], listed: bool = True) -> Constraint:
    """One of ``choices``; the message shows them as a list or as quoted names."""
    shown = str(list(choices)) if listed else ", ".join(map(repr, choices))
    return Constraint(lambda v: isinstance(v, str) and v in choices, f"be one of {shown}")


def boolean(auto: bool = False) -> Constraint:
    """True or False (NumPy's bool too), optionally ``"auto"``."""
    return Constraint(
        lambda v: isinstance(v, (bool, np.bool_)) or (auto and is_auto(v)),
        "be True, False or 'auto'" if auto else "be True or False",
        lambda v: v if isinstance(v, str) else bool(v))


def units() -> Constraint:
    """Hidden-layer widths: a non-empty list or tuple of positive integers."""
    return Constraint(
        lambda v: isinstance(v, (list, tuple)) and len(v) > 0
        and all(is_integer(u) and u >= 1 for u in v),
        "be a non-empty sequence of positive integers", lambda v: tuple(int(u) for u in v),
        from_json=lambda v: tuple(v) if isinstance(v, list) else v)


def column_names() -> Constraint:
    """None or a list or tuple of column names (a bare string is not a list of them)."""
    return Constraint(
        lambda v: v is None or (isinstance(v, (list, tuple))
                                and all(isinstance(c, str) for c in v)),
        "be a list of column names", lambda v: tuple(v or ()))


def seed() -> Constraint:
    """A seed NumPy takes: None, a non-negative integer or a ``numpy.random.Generator``."""
    return Constraint(
        lambda v: v is None or isinstance(v, np.random.Generator) or (is_integer(v) and v >= 0),
        "be None, a non-negative integer or a numpy.random.Generator")


def folder() -> Constraint:
    """None or a path."""
    return Constraint(lambda v: v is None or isinstance(v, (str, os.PathLike)),
                      "be None or a folder path")


def callback_list() -> Constraint:
    """None or a list or tuple of callback objects."""
    return Constraint(lambda v: v is None or isinstance(v, (list, tuple)),
                      "be None or a list of callbacks", lambda v: list(v or ()))


def distribution_strategy() -> Constraint:
    """None or a ``tf.distribute.Strategy`` (recognised by ``num_replicas_in_sync``)."""
    return Constraint(lambda v: v is None or hasattr(v, "num_replicas_in_sync"),
                      "be None or a tf.distribute.Strategy")


class _AsDefault:
    """The type of :data:`AS_DEFAULT`."""

    def __repr__(self) -> str:
        return "AS_DEFAULT"


#: :attr:`Parameter.predated` of a parameter that models saved before it
#: existed take at its default (None being a value a parameter may predate).
AS_DEFAULT = _AsDefault()


@dataclass(frozen=True)
class FitFacts:
    """What an ``"auto"`` rule may read about the fit it chooses for.

    Attributes
    ----------
    private : bool
        Whether the fit trains with DP-SGD (:func:`trains_privately`).
    categorical_attributes : tuple of str
        The schema's categorical attribute columns.
    """

    private: bool
    categorical_attributes: Tuple[str, ...] = ()


@dataclass(frozen=True)
class AutoRule:
    """How a parameter's ``"auto"`` value is chosen.

    Attributes
    ----------
    choose : callable
        The value for a fit, from its :class:`FitFacts`.
    why : callable
        One line on the choice, from the facts and the chosen value, as
        ``verbose`` prints it.
    """

    choose: Callable[[FitFacts], Any]
    why: Callable[[FitFacts, Any], str]


@dataclass(frozen=True)
class Parameter:
    """One row of :data:`PARAMETERS`.

    Attributes
    ----------
    constraint : Constraint
    group : str
        One of :data:`GROUPS`.
    stored : bool
        Saved with a model and pickled; False for objects (callbacks, a
        distribution strategy), which are not data.
    predated : object
        The value a model saved or pickled before the parameter existed
        behaves as, where that is not the parameter's default
        (:data:`AS_DEFAULT`: the default).
    auto : AutoRule, optional
        How ``"auto"`` is resolved, for a parameter that takes it.
    """

    constraint: Constraint
    group: str
    stored: bool = True
    predated: Any = AS_DEFAULT
    auto: Optional[AutoRule] = None


def _noise_source(facts: FitFacts) -> str:
    # dp_noise is the one place that decides where DP noise comes from; it
    # imports this module, so it is imported when a rule runs.
    from .dp_noise import resolve_noise_source
    return resolve_noise_source(AUTO) if facts.private else AUTO


#: A critic trained further per generator update keeps the generator from
#: collapsing onto a few attribute values (docs/hyperparameters.rst); under DP
#: every extra critic update spends privacy budget.
CRITIC_STEPS_RULE = AutoRule(
    lambda facts: 1 if facts.private else 5,
    lambda facts, value: ("1 critic update per generator update: under differential "
                          "privacy each one spends budget") if facts.private else
    "5 critic updates per generator update, against attribute collapse")
#: Snapping reads the training value next to each column's minimum, a
#: statistic of the data that the DP-SGD accounting does not cover.
SNAP_RULE = AutoRule(
    lambda facts: not facts.private,
    lambda facts, value: ("off: the gap above a column's minimum is a statistic DP-SGD "
                          "does not account for") if facts.private else
    "on: a column with a point mass at its minimum (>= 1% of values) generates it exactly")
#: The pull towards each categorical attribute's value shares brings back
#: values the generator dropped (dgkeras.marginals); on all three benchmark
#: workloads it brought the attribute marginals to their floor and lowered the
#: discriminative score, at some cost to per-series levels
#: (docs/hyperparameters.rst). Under DP it is refused: the shares would reach
#: the generator without noise.
MARGINAL_RULE = AutoRule(
    lambda facts: 1.0 if facts.categorical_attributes and not facts.private else 0.0,
    lambda facts, value: (
        "0: under differential privacy the value shares would reach the generator without "
        "noise" if facts.private else "0: no categorical attribute" if not value else
        "1.0: generated value shares of " + ", ".join(facts.categorical_attributes)
        + " pulled towards the data's"))
#: Scoring the generator reads the training series outside DP-SGD's
#: accounting, so it is off under DP.
KEEP_BEST_RULE = AutoRule(
    lambda facts: None if facts.private else KEEP_BEST_EVERY,
    lambda facts, value: (
        "None: under differential privacy the score would read the training series outside "
        "the accounting" if facts.private else
        f"{value}: the generator is scored against training series every {value} epochs and "
        "the best kept"))
#: Generating each series' minimum and span by their rank among the training
#: series lowered the discriminative score on MBA and PLAID over five seeds and
#: left it level on GEANT (docs/hyperparameters.rst); under DP it is refused,
#: its table being read outside DP-SGD's accounting.
MINMAX_SCALE_RULE = AutoRule(
    lambda facts: "unit" if facts.private else "quantile",
    lambda facts, value: (
        "'unit': the quantile table would hold the training series' minima and spans "
        "without noise" if facts.private else
        "'quantile': each series' minimum and span generated by their rank among the "
        "training series"))
#: Without DP there is no noise to draw, and "auto" stays.
NOISE_SOURCE_RULE = AutoRule(
    _noise_source, lambda facts, value: "TensorFlow Privacy where it imports, else dgkeras' "
                                        "noise drawn from the fit's seed")


#: Every constructor argument of DGSynthesizer: its constraint and its group.
PARAMETERS: Dict[str, Parameter] = {
    "invalid_series": Parameter(options(INVALID_SERIES), "data"),
    "long_series": Parameter(options(LONG_SERIES), "data"),
    "max_categories": Parameter(integer(low=2), "data"),
    "sample_len": Parameter(integer(none=True), "encoder"),
    "max_sequence_len": Parameter(integer(none=True), "encoder"),
    "auto_normalize": Parameter(boolean(), "encoder"),
    "normalization": Parameter(options(NORMALIZATIONS), "encoder"),
    "time_mode": Parameter(options(TIME_MODES), "encoder"),
    "log_columns": Parameter(column_names(), "encoder"),
    # Models saved before "auto" existed were fitted with the then default.
    "minmax_scale": Parameter(options(MINMAX_SCALES + (AUTO,)), "encoder", predated="unit",
                              auto=MINMAX_SCALE_RULE),
    # Models saved before the parameter existed decode without snapping.
    "snap_to_minimum": Parameter(boolean(auto=True), "encoder", predated=False,
                                 auto=SNAP_RULE),
    # Models saved before the parameter existed decode as they did.
    "pin_extremes": Parameter(boolean(), "encoder", predated=False),
    "attribute_noise_dim": Parameter(integer(), "network"),
    "feature_noise_dim": Parameter(integer(), "network"),
    "attribute_units": Parameter(units(), "network"),
    "lstm_units": Parameter(integer(), "network"),
    "lstm_layers": Parameter(integer(), "network"),
    # Models saved before the parameter existed have no skip.
    "noise_skip": Parameter(boolean(), "network", predated=False),
    "critic_units": Parameter(units(), "network"),
    "aux_critic": Parameter(boolean(), "network"),
    "packing": Parameter(integer(), "network"),
    "mixed_precision": Parameter(boolean(), "network"),
    # Models saved before the parameter existed were sampled through XLA.
    "jit_sampling": Parameter(boolean(), "network", predated=True),
    "epochs": Parameter(integer(), "training"),
    "batch_size": Parameter(integer(), "training"),
    "generator_lr": Parameter(real(low_open=True), "training"),
    "critic_lr": Parameter(real(low_open=True), "training"),
    "beta_1": Parameter(real(high=1.0, description="lie in [0, 1)"), "training"),
    "gp_weight": Parameter(real(), "training"),
    "aux_critic_weight": Parameter(real(), "training"),
    "critic_steps": Parameter(integer(auto=True), "training", auto=CRITIC_STEPS_RULE),
    "generator_steps": Parameter(integer(), "training"),
    "ema_decay": Parameter(real(high=1.0, none=True, description="be None or lie in [0, 1)"),
                           "training"),
    "marginal_weight": Parameter(real(auto=True), "training", auto=MARGINAL_RULE),
    # Models saved before the parameter existed kept their last generator.
    "keep_best_every": Parameter(integer(none=True, auto=True), "training", predated=None,
                                 auto=KEEP_BEST_RULE),
    "steps_per_call": Parameter(integer(), "training"),
    "random_state": Parameter(seed(), "training"),
    "epsilon": Parameter(real(low_open=True, none=True, finite=True,
                              description="be a positive finite number"), "dp"),
    "delta": Parameter(real(low_open=True, none=True,
                            description="be None or a positive number"), "dp"),
    "l2_norm_clip": Parameter(real(low_open=True), "dp"),
    "noise_multiplier": Parameter(real(none=True, description="be >= 0"), "dp"),
    "dp_noise_source": Parameter(options(NOISE_SOURCES, listed=False), "dp",
                                 auto=NOISE_SOURCE_RULE),
    "callbacks": Parameter(callback_list(), "run", stored=False),
    "log_dir": Parameter(folder(), "run"),
    "checkpoint_dir": Parameter(folder(), "run"),
    "checkpoint_every": Parameter(integer(), "run"),
    "strategy": Parameter(distribution_strategy(), "run", stored=False),
    "verbose": Parameter(integer(low=0), "run"),
}


def check(name: str, value: Any) -> None:
    """Check one value against its row of :data:`PARAMETERS`.

    Raises
    ------
    DataError
        ``"<name> must ..., got <value>"``.
    """
    if name == "log_columns" and isinstance(value, str):
        raise DataError(f"log_columns must be a list of column names, got {value!r}; "
                        f"write [{value!r}]")
    PARAMETERS[name].constraint.check(name, value)


def trains_privately(params: Mapping[str, Any]) -> bool:
    """Whether a fit uses DP-SGD: ``epsilon`` or ``noise_multiplier`` is given."""
    return params["epsilon"] is not None or params["noise_multiplier"] is not None


@dataclass(frozen=True)
class Rule:
    """A cross-parameter rule: ``violated(params)`` True means ``message(params)`` is raised."""

    name: str
    violated: Callable[[Mapping[str, Any]], bool]
    message: Callable[[Mapping[str, Any]], str]


_DP = "differential privacy (epsilon or noise_multiplier)"

#: Combinations refused whatever the data, with why in each message.
RULES: Tuple[Rule, ...] = (
    Rule("epsilon or noise_multiplier",
         lambda p: p["epsilon"] is not None and p["noise_multiplier"] is not None,
         lambda p: "give either epsilon (sigma is then computed) or noise_multiplier, not both"),
    # DP-SGD clips per-example gradients to l2_norm_clip; under loss scaling
    # they would be clipped at the scaled size.
    Rule("no mixed precision under DP",
         lambda p: p["mixed_precision"] and trains_privately(p),
         lambda p: f"mixed_precision=True cannot be combined with {_DP}; train DP in float32"),
    # DP-SGD bounds each series' influence by clipping its gradient; a pack
    # mixes several series into one example.
    Rule("no packing under DP",
         lambda p: p["packing"] > 1 and trains_privately(p),
         lambda p: f"packing={p['packing']} cannot be combined with {_DP}; use packing=1"),
    # The value frequencies would reach the generator without DP noise.
    Rule("no marginal term under DP",
         lambda p: not is_auto(p["marginal_weight"]) and p["marginal_weight"] > 0
         and trains_privately(p),
         lambda p: f"marginal_weight={p['marginal_weight']!r} cannot be combined with {_DP}: "
                   "it uses the training data's value frequencies without noise; use "
                   "marginal_weight=0"),
    # The quantile table holds the training series' minima and spans, read
    # outside DP-SGD's accounting.
    Rule("no quantile min/max under DP",
         lambda p: p["minmax_scale"] == "quantile" and trains_privately(p),
         lambda p: f"minmax_scale='quantile' cannot be combined with {_DP}: its table holds "
                   "the training series' minima and spans without noise; use "
                   "minmax_scale='unit'"),
    # The score compares generated series with training series outside DP-SGD.
    Rule("no generator selection under DP",
         lambda p: is_integer(p["keep_best_every"]) and trains_privately(p),
         lambda p: f"keep_best_every={p['keep_best_every']!r} cannot be combined with {_DP}: "
                   "scoring the generator reads the training series outside the privacy "
                   "accounting; use keep_best_every=None"),
)


def apply_rule(name: str, params: Mapping[str, Any]) -> None:
    """Apply the rule of :data:`RULES` called ``name`` to the parameters it reads.

    Raises
    ------
    DataError
        With the rule's message if ``params`` violate it.
    """
    rule = next(r for r in RULES if r.name == name)
    if rule.violated(params):
        raise DataError(rule.message(params))


def validate_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Check a full parameter set against :data:`PARAMETERS` and :data:`RULES`.

    Parameters
    ----------
    params : mapping
        Every constructor argument (``DGSynthesizer.get_params()``).

    Returns
    -------
    dict
        The parameters normalised (see :class:`Constraint`).

    Raises
    ------
    DataError
        For the first value or combination refused.
    """
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise DataError(f"unknown parameters {unknown}")
    for name in PARAMETERS:
        check(name, params[name])
    for rule in RULES:
        apply_rule(rule.name, params)
    return {name: row.constraint.normalize(params[name]) for name, row in PARAMETERS.items()}


def group(params: Mapping[str, Any], name: str) -> Dict[str, Any]:
    """The parameters of one of :data:`GROUPS`, by name."""
    return {k: params[k] for k, row in PARAMETERS.items() if row.group == name}


def predated(saved: "Mapping[str, Any] | Sequence[str]") -> Dict[str, Any]:
    """The parameters a saved model predates whose value for it is not the default.

    Parameters
    ----------
    saved : mapping or sequence of str
        The parameter names the saved model holds.

    Returns
    -------
    dict
        Name to value (see :attr:`Parameter.predated`).
    """
    return {k: row.predated for k, row in PARAMETERS.items()
            if k not in saved and row.predated is not AS_DEFAULT}


def stored(params: Mapping[str, Any], drop: bool = False) -> Dict[str, Any]:
    """``params`` with the objects that are not data (callbacks, strategy) set to None.

    ``drop``: leave them out instead.
    """
    if drop:
        return {k: v for k, v in params.items() if PARAMETERS[k].stored}
    return {k: (v if PARAMETERS[k].stored else None) for k, v in params.items()}


def resolve(name: str, value: Any, facts: FitFacts) -> Any:
    """``value`` of parameter ``name``, with ``"auto"`` chosen by the row's rule.

    An explicit value is returned as given.
    """
    rule = PARAMETERS[name].auto
    return rule.choose(facts) if rule is not None and is_auto(value) else value


def resolve_all(params: Mapping[str, Any], facts: FitFacts) -> Dict[str, Any]:
    """Every parameter of ``params`` with its ``"auto"`` value chosen for the fit.

    Parameters
    ----------
    params : mapping
        Parameters as :func:`validate_params` returns them.
    facts : FitFacts

    Returns
    -------
    dict
        The same names; explicit values unchanged.
    """
    return {name: resolve(name, value, facts) for name, value in params.items()}


def auto_choices(params: Mapping[str, Any], resolved: Mapping[str, Any],
                 facts: FitFacts) -> Dict[str, str]:
    """For each parameter given as ``"auto"``, one line on what was chosen and why.

    Returns
    -------
    dict
        Name to ``"<value> (<why>)"``, in the order of :data:`PARAMETERS`;
        a parameter the fit does not use stays ``"auto"`` and is left out.
    """
    return {name: f"{resolved[name]!r} ({row.auto.why(facts, resolved[name])})"
            for name, row in PARAMETERS.items()
            if row.auto is not None and name in params and is_auto(params[name])
            and not is_auto(resolved[name])}


def fit_seed(random_state: Any) -> int:
    """The one integer seed a fit or refit derives all its randomness from."""
    return int(np.random.default_rng(random_state).integers(0, 2**31 - 1))
