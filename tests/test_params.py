"""Every constructor argument is checked from the one table in dgkeras.params."""

import ast
import inspect
import pathlib

import numpy as np
import pytest

from dgkeras import DataError, DGSynthesizer
from dgkeras.params import GROUPS, PARAMETERS, RULES, group, validate_params

#: A value each parameter must refuse, and the start of the message it gets.
BAD_VALUES = {
    "sample_len": (0, "sample_len must be a positive integer or None"),
    "max_sequence_len": (2.5, "max_sequence_len must be a positive integer or None"),
    "epochs": (True, "epochs must be a positive integer"),
    "batch_size": (0, "batch_size must be a positive integer"),
    "attribute_noise_dim": (-1, "attribute_noise_dim must be a positive integer"),
    "feature_noise_dim": ("5", "feature_noise_dim must be a positive integer"),
    "attribute_units": ((16, 0), "attribute_units must be a non-empty sequence"),
    "lstm_units": (None, "lstm_units must be a positive integer"),
    "lstm_layers": (0, "lstm_layers must be a positive integer"),
    "noise_skip": ("no", "noise_skip must be True or False, got 'no'"),
    "critic_units": ([], "critic_units must be a non-empty sequence"),
    "generator_lr": (0.0, "generator_lr must be a positive number"),
    "critic_lr": (float("nan"), "critic_lr must be a positive number"),
    "beta_1": (1.0, r"beta_1 must lie in \[0, 1\)"),
    "gp_weight": (-1.0, "gp_weight must be a non-negative number"),
    "aux_critic": (1, "aux_critic must be True or False"),
    "aux_critic_weight": ("1", "aux_critic_weight must be a non-negative number"),
    "auto_normalize": ("yes", "auto_normalize must be True or False"),
    "normalization": ("unit", r"normalization must be one of \['zero_one', 'minus_one_one'\]"),
    "time_mode": ("free", r"time_mode must be one of \['grid', 'learned'\]"),
    "log_columns": ("usage", r"log_columns must be a list of column names, got 'usage'; "
                             r"write \['usage'\]"),
    "minmax_scale": ("log2", r"minmax_scale must be one of "
                             r"\['unit', 'log', 'log_min', 'quantile', 'auto'\]"),
    "critic_steps": ("many", "critic_steps must be a positive integer or 'auto'"),
    "generator_steps": (0, "generator_steps must be a positive integer"),
    "packing": (0, "packing must be a positive integer"),
    "ema_decay": (1.0, r"ema_decay must be None or lie in \[0, 1\)"),
    "marginal_weight": (-0.5, "marginal_weight must be a non-negative number or 'auto'"),
    "keep_best_every": (0, "keep_best_every must be a positive integer or 'auto' or None"),
    "epsilon": (float("inf"), "epsilon must be a positive finite number"),
    "delta": (0.0, "delta must be None or a positive number"),
    "l2_norm_clip": (0.0, "l2_norm_clip must be a positive number"),
    "noise_multiplier": (-1.0, "noise_multiplier must be >= 0"),
    "dp_noise_source": ("numpy", "dp_noise_source must be one of 'auto', 'dgkeras'"),
    "callbacks": (print, "callbacks must be None or a list of callbacks"),
    "log_dir": (3, "log_dir must be None or a folder path"),
    "checkpoint_dir": (["x"], "checkpoint_dir must be None or a folder path"),
    "checkpoint_every": (0, "checkpoint_every must be a positive integer"),
    "strategy": ("mirrored", "strategy must be None or a tf.distribute.Strategy"),
    "steps_per_call": (0, "steps_per_call must be a positive integer"),
    "mixed_precision": ("yes", "mixed_precision must be True or False, got 'yes'"),
    "jit_sampling": (1, "jit_sampling must be True or False, got 1"),
    "snap_to_minimum": ("yes", "snap_to_minimum must be True, False or 'auto', got 'yes'"),
    "pin_extremes": ("yes", "pin_extremes must be True or False, got 'yes'"),
    "invalid_series": ("skip", r"invalid_series must be one of \['error', 'drop'\]"),
    "long_series": ("cut", r"long_series must be one of \['error', 'truncate', 'split'\]"),
    "max_categories": (1, "max_categories must be an integer >= 2"),
    "random_state": (-1, "random_state must be None, a non-negative integer"),
    "verbose": (-1, "verbose must be an integer >= 0"),
}


def test_every_constructor_argument_has_a_row_and_a_group():
    names = set(DGSynthesizer().get_params())
    assert names == set(PARAMETERS)
    assert {row.group for row in PARAMETERS.values()} <= set(GROUPS)
    assert set(BAD_VALUES) == names


def test_the_defaults_pass_and_come_back_normalised():
    params = validate_params(DGSynthesizer().get_params())
    assert params["attribute_units"] == (100, 100, 100) and params["log_columns"] == ()
    assert params["callbacks"] == [] and params["aux_critic"] is True
    network = group(params, "network")
    assert set(network) == {"attribute_noise_dim", "feature_noise_dim", "attribute_units",
                            "lstm_units", "lstm_layers", "critic_units", "aux_critic",
                            "packing", "mixed_precision", "jit_sampling", "noise_skip"}
    assert validate_params({**params, "aux_critic": np.bool_(False)})["aux_critic"] is False


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_each_parameter_refuses_a_bad_value_by_name(name):
    value, message = BAD_VALUES[name]
    params = DGSynthesizer().set_params(**{name: value}).get_params()
    with pytest.raises(DataError, match=f"^{message}"):
        validate_params(params)


@pytest.mark.parametrize("settings, message", [
    (dict(epsilon=1.0, noise_multiplier=1.0), "give either epsilon"),
    (dict(epsilon=1.0, mixed_precision=True), "mixed_precision=True cannot be combined"),
    (dict(noise_multiplier=1.0, packing=2), "packing=2 cannot be combined"),
    (dict(epsilon=1.0, marginal_weight=0.5), "marginal_weight=0.5 cannot be combined"),
    (dict(noise_multiplier=1.0, keep_best_every=10), "keep_best_every=10 cannot be combined"),
    (dict(epsilon=1.0, minmax_scale="quantile"),
     "minmax_scale='quantile' cannot be combined .* minima and spans without noise"),
])
def test_each_rule_refuses_its_combination(settings, message):
    params = DGSynthesizer(**settings).get_params()
    with pytest.raises(DataError, match=message):
        validate_params(params)
    assert len(RULES) == 6


def test_fit_refuses_bad_parameters_before_reading_the_data():
    with pytest.raises(DataError, match="epochs must be a positive integer, got 0"):
        DGSynthesizer(epochs=0).fit(None, {"id_column": "id", "features": {"x": "continuous"}})



#: Functions allowed past 60 lines: declarative tables.
LONG_BY_DESIGN = {("cli.py", "build_parser"), ("synthesizer.py", "__init__")}


def test_no_function_in_the_package_is_longer_than_60_lines():
    package = pathlib.Path(inspect.getfile(DGSynthesizer)).parent
    long = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60 and (path.name, node.name) not in LONG_BY_DESIGN:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_models_saved_before_a_parameter_get_the_value_they_had():
    from dgkeras.params import predated

    assert predated({"epochs": 3}) == {"jit_sampling": True, "snap_to_minimum": False,
                                       "pin_extremes": False, "keep_best_every": None,
                                       "noise_skip": False, "minmax_scale": "unit"}
    assert predated({"epochs": 3, "jit_sampling": False, "snap_to_minimum": True,
                     "pin_extremes": True, "keep_best_every": 10, "noise_skip": True,
                     "minmax_scale": "log"}) == {}
