"""The "auto" parameters: one rule each, resolved once per fit, recorded and printed."""

import pickle

import pandas as pd
import pytest
from conftest import DATA, SMALL, attribute_frame

from dgkeras import DGSynthesizer
from dgkeras.params import AUTO, PARAMETERS, FitFacts, auto_choices, resolve_all


def _accepts_auto(name):
    # A folder parameter takes any string, "auto" among them, as a path.
    accepts = PARAMETERS[name].constraint.accepts
    return accepts(AUTO) and not accepts("any other word")


def test_a_parameter_takes_auto_exactly_when_its_row_has_a_rule():
    for name, row in PARAMETERS.items():
        assert _accepts_auto(name) is (row.auto is not None), name


@pytest.mark.parametrize("private, expected", [
    (False, {"critic_steps": 5, "minmax_scale": "quantile", "snap_to_minimum": True,
             "dp_noise_source": AUTO, "marginal_weight": 1.0, "keep_best_every": 10}),
    (True, {"critic_steps": 1, "minmax_scale": "unit", "snap_to_minimum": False,
            "marginal_weight": 0.0, "keep_best_every": None}),
])
def test_rules_choose_by_privacy_and_leave_explicit_values(private, expected):
    params = DGSynthesizer().get_params()
    facts = FitFacts(private=private, categorical_attributes=("region",))
    resolved = resolve_all(params, facts)
    assert {k: resolved[k] for k in expected} == expected
    if private:
        assert resolved["dp_noise_source"] in ("dgkeras", "tf-privacy")
    explicit = {**params, "critic_steps": 3, "snap_to_minimum": False, "marginal_weight": 0.5,
                "keep_best_every": 7, "minmax_scale": "log"}
    again = resolve_all(explicit, facts)
    assert again["critic_steps"] == 3 and again["snap_to_minimum"] is False
    assert again["minmax_scale"] == "log"
    assert again["marginal_weight"] == 0.5 and again["keep_best_every"] == 7
    # Nothing but the "auto" values changes.
    assert {k: v for k, v in again.items() if k not in expected and k != "dp_noise_source"} \
        == {k: v for k, v in explicit.items() if k not in expected and k != "dp_noise_source"}


def test_the_marginal_term_is_on_only_for_categorical_attributes_without_dp():
    params = DGSynthesizer().get_params()
    cases = {FitFacts(private=False, categorical_attributes=("a", "b")): 1.0,
             FitFacts(private=False): 0.0,
             FitFacts(private=True, categorical_attributes=("a",)): 0.0}
    for facts, weight in cases.items():
        resolved = resolve_all(params, facts)
        assert resolved["marginal_weight"] == weight, facts
    why = {facts: auto_choices(params, resolve_all(params, facts), facts)["marginal_weight"]
           for facts in cases}
    assert list(why.values()) == [
        "1.0 (1.0: generated value shares of a, b pulled towards the data's)",
        "0.0 (0: no categorical attribute)",
        "0.0 (0: under differential privacy the value shares would reach the generator "
        "without noise)"]


def test_choices_name_only_what_was_auto_and_is_used():
    params = {**DGSynthesizer().get_params(), "critic_steps": 2}
    facts = FitFacts(private=False, categorical_attributes=("region",))
    choices = auto_choices(params, resolve_all(params, facts), facts)
    # critic_steps was given; without DP the noise source is not used.
    assert list(choices) == ["minmax_scale", "snap_to_minimum", "marginal_weight",
                             "keep_best_every"]
    assert choices["snap_to_minimum"].startswith("True (on: ")
    assert choices["minmax_scale"].startswith("'quantile' ('quantile': each series' minimum")
    private = FitFacts(private=True)
    assert auto_choices(params, resolve_all(params, private), private)["minmax_scale"] \
        .startswith("'unit' ('unit': the quantile table would hold the training series' minima")


def _fit(**params):
    df, schema = attribute_frame()
    settings = {**SMALL, "epochs": 2, "batch_size": 8, "random_state": 0, **params}
    return DGSynthesizer(**settings).fit(df, schema)


@pytest.fixture(scope="module")
def fitted():
    return _fit()


def test_resolved_params_hold_every_stored_parameter_as_the_fit_used_it(fitted):
    given = fitted.get_params()
    assert given["critic_steps"] == AUTO and given["snap_to_minimum"] == AUTO
    resolved = fitted.resolved_params_
    # callbacks and a distribution strategy are objects, not data, and not stored.
    assert set(resolved) == set(given) - {"callbacks", "strategy"}
    assert resolved["critic_steps"] == 5 and resolved["snap_to_minimum"] is True
    assert resolved["minmax_scale"] == "quantile"
    assert [s.kind for s in fitted.encoder_.minmax_scales_] == ["quantile"] * len(
        fitted.encoder_.continuous_features)
    assert resolved["marginal_weight"] == 1.0  # region and premium are categorical
    assert resolved["keep_best_every"] == 10
    assert resolved["dp_noise_source"] == AUTO  # no DP: nothing to choose
    assert resolved["attribute_units"] == (16, 16) and resolved["epochs"] == 2


def test_resolved_params_repeat_the_fit_without_any_auto(fitted):
    again = _fit(**fitted.resolved_params_)
    pd.testing.assert_frame_equal(again.sample(20, random_state=1),
                                  fitted.sample(20, random_state=1))
    pd.testing.assert_frame_equal(again.history_.drop(columns="seconds"),
                                  fitted.history_.drop(columns="seconds"))
    # A different critic_steps gives a different fit, so the comparison can fail.
    other = _fit(critic_steps=1)
    assert not other.history_["critic_loss"].equals(fitted.history_["critic_loss"])


def test_resolved_params_survive_pickle_and_save(fitted, tmp_path):
    path = tmp_path / "model.dgk"
    fitted.save(path)
    for copy in (pickle.loads(pickle.dumps(fitted)), DGSynthesizer.load(path)):
        assert copy.resolved_params_ == fitted.resolved_params_
        assert copy.get_params()["critic_steps"] == AUTO


def test_a_dp_fit_resolves_for_privacy():
    synth = _fit(noise_multiplier=1.0, batch_size=5, epochs=1)
    resolved = synth.resolved_params_
    assert resolved["critic_steps"] == 1 and resolved["snap_to_minimum"] is False
    assert resolved["marginal_weight"] == 0.0  # "auto" is not refused under DP
    assert resolved["keep_best_every"] is None
    assert resolved["minmax_scale"] == "unit"  # "auto" is not refused under DP
    assert {s.kind for s in synth.encoder_.minmax_scales_} == {"unit"}
    assert resolved["dp_noise_source"] == synth.dp_settings_.noise_source
    assert synth.dp_settings_.uses_per_step == 1  # the accountant saw one critic update
    assert not synth.encoder_.snap_to_minimum


def test_verbose_prints_the_choices_and_silent_does_not(capsys):
    df, schema = attribute_frame()
    settings = {**SMALL, "epochs": 1, "batch_size": 8, "random_state": 0}
    DGSynthesizer(**{**settings, "verbose": 1}).fit(df, schema)
    err = capsys.readouterr().err
    assert "'auto' settings chosen" in err
    assert "critic_steps=5 (5 critic updates" in err and "snap_to_minimum=True (on" in err
    assert "marginal_weight=1.0 (1.0: generated value shares of region, premium" in err
    assert "keep_best_every=10 (10: the generator is scored against training series" in err
    assert "minmax_scale='quantile' ('quantile': each series' minimum and span" in err
    assert "dp_noise_source" not in err
    DGSynthesizer(**{**settings, "verbose": 1, "critic_steps": 2, "snap_to_minimum": False,
                     "marginal_weight": 0.0, "keep_best_every": None,
                     "minmax_scale": "unit"}).fit(df, schema)
    assert "'auto' settings chosen" not in capsys.readouterr().err  # nothing was "auto"
    DGSynthesizer(**settings).fit(df, schema)  # SMALL has verbose=0
    assert capsys.readouterr().err == ""


def test_models_saved_before_resolved_params_were_recorded_get_them():
    """tests/data/tf215_* predate the record; their rules needed no data."""
    for synth in (DGSynthesizer.load(DATA / "tf215_model.dgk"),
                  pickle.loads((DATA / "tf215_model.pkl").read_bytes())):
        resolved = synth.resolved_params_
        assert resolved["critic_steps"] == 5
        # They decode without snapping and sample through XLA (the values
        # such models had), whatever today's defaults.
        assert resolved["snap_to_minimum"] is False and resolved["jit_sampling"] is True
        assert resolved["minmax_scale"] == "unit" and synth.encoder_.minmax_scale == "unit"
        assert not synth.encoder_.snap_to_minimum
    private = DGSynthesizer.load(DATA / "tf215_dp_model.dgk")
    assert private.resolved_params_["critic_steps"] == 1
    assert private.resolved_params_["dp_noise_source"] == "tf-privacy"


def test_the_encoder_refuses_an_unresolved_auto():
    from dgkeras import DataError
    from dgkeras.encoding import Encoder
    from dgkeras.schema import Schema

    schema = Schema.from_dict(attribute_frame()[1])
    with pytest.raises(DataError, match="snap_to_minimum must be True or False, got 'auto'"):
        Encoder(schema, snap_to_minimum=AUTO)
    with pytest.raises(DataError, match=r"minmax_scale must be one of \['unit', 'log', "
                                        r"'log_min', 'quantile'\], got 'auto'"):
        Encoder(schema, minmax_scale=AUTO)
