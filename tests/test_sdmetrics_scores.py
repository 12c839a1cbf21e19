"""SDMetrics' sequential scores (the optional sdmetrics extra).

SDMetrics' newest releases require pandas < 3, so it is not in the test
extras: these tests run on the tf-privacy stack of .ci/run, which installs the
sdmetrics extra and fails where any test is skipped. Elsewhere only the test
of the install hint runs.
"""

import sys

import numpy as np
import pytest
from conftest import mixed_frame
from scipy.stats import ks_2samp

from dgkeras.metrics import fidelity_with_floor
from dgkeras.report import fidelity_report
from dgkeras.sdmetrics_scores import sdmetrics_scores


def _ks_complement(a, b):
    return 1.0 - ks_2samp(np.asarray(a, float), np.asarray(b, float)).statistic


def _hide_sdmetrics(monkeypatch):
    # Where it is installed and imported, its modules are cached: hide every one.
    for name in [m for m in sys.modules if m.split(".")[0] == "sdmetrics"] + ["sdmetrics"]:
        monkeypatch.setitem(sys.modules, name, None)


def test_without_sdmetrics_the_error_says_how_to_install(monkeypatch):
    _hide_sdmetrics(monkeypatch)
    df, schema = mixed_frame()
    with pytest.raises(ImportError, match=r'pip install "dgkeras\[sdmetrics\]"'):
        sdmetrics_scores(df, df, schema)


def test_identical_sets_score_one_everywhere():
    pytest.importorskip("sdmetrics")
    df, schema = mixed_frame()
    scores = sdmetrics_scores(df, df.sample(frac=1.0, random_state=0), schema)
    assert set(scores) == {"sequence_length_similarity",
                           *(f"{c} statistic_msas {s}" for c in ("count", "load")
                             for s in ("mean", "std", "min", "max")),
                           "count inter_row_msas", "load inter_row_msas"}
    assert all(v == pytest.approx(1.0) for v in scores.values()), scores


def test_scores_are_ks_complements_of_per_series_figures_in_time_order():
    pytest.importorskip("sdmetrics")
    real, schema = mixed_frame(n_series=40, seed=0)
    fake, _ = mixed_frame(n_series=30, seed=5, lengths=(2, 6))
    fake["load"] = fake["load"] * 3.0
    # Records out of order: the changes between records must follow the time column.
    fake = fake.sample(frac=1.0, random_state=1)
    scores = sdmetrics_scores(real, fake, schema, statistics=("std",))

    def per_series_std(df):
        return df.groupby("sid")["load"].std()

    def changes(df):  # between consecutive records of each series, all series pooled
        return df.sort_values(["sid", "t"]).groupby("sid")["load"].diff().dropna()

    lengths = real.groupby("sid").size(), fake.groupby("sid").size()
    assert scores["sequence_length_similarity"] == pytest.approx(_ks_complement(*lengths))
    assert scores["load statistic_msas std"] == pytest.approx(
        _ks_complement(per_series_std(real), per_series_std(fake)))
    assert scores["load inter_row_msas"] == pytest.approx(
        _ks_complement(changes(real), changes(fake)))
    # In record order, not time order, the changes differ: the order is read.
    shuffled = fake.groupby("sid")["load"].diff().dropna()
    assert _ks_complement(changes(real), shuffled) != pytest.approx(
        scores["load inter_row_msas"])
    # Three times the spread, lengths 2..6 against 3..9: far from the same.
    assert scores["load statistic_msas std"] < 0.5
    assert scores["sequence_length_similarity"] < 0.8
    assert "load statistic_msas mean" not in scores


def test_without_sdmetrics_the_floor_has_no_sdmetrics_scores(monkeypatch):
    _hide_sdmetrics(monkeypatch)
    real, schema = mixed_frame(n_series=24, seed=0)
    fake, _ = mixed_frame(n_series=24, seed=3)
    figures = fidelity_with_floor(real, fake, schema)
    assert "sdmetrics" not in figures["synthetic"] and "sdmetrics" not in figures["real_vs_real"]
    assert figures["synthetic"]["discriminative_score"] >= 0  # the rest is there


def test_the_report_carries_the_scores_and_their_floor(tmp_path):
    pytest.importorskip("sdmetrics")
    real, schema = mixed_frame(n_series=24, seed=0)
    fake, _ = mixed_frame(n_series=24, seed=3, lengths=(2, 5))
    summary = fidelity_report(real, fake, schema, tmp_path)
    assert summary["sdmetrics"] == sdmetrics_scores(real, fake, schema)
    assert set(summary["real_vs_real"]["sdmetrics"]) == set(summary["sdmetrics"])
    markdown = (tmp_path / "summary.md").read_text()
    line = next(x for x in markdown.splitlines()
                if x.startswith("| sdmetrics: sequence_length_similarity |"))
    assert f"{summary['sdmetrics']['sequence_length_similarity']:.4g}" in line
    assert "where 1 is best" in markdown
