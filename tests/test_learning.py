"""A short fit on real data must beat the untrained generator by a clear margin."""

import copy

import numpy as np
from conftest import SMALL

from dgkeras import DGSynthesizer
from dgkeras.gan import DoppelGANger
from dgkeras.model_scores import total_variation

ATTRIBUTES = ("isp", "technology", "state")


def _marginal_distances(real, fake):
    real_homes = real.groupby("home_id").first()
    fake_homes = fake.groupby("home_id").first()
    return {c: total_variation(real_homes[c], fake_homes[c]) for c in ATTRIBUTES}


def test_short_fit_on_mba_learns_attribute_marginals_and_daily_profile(mba):
    df, schema = mba
    # The thresholds below are for the paper's min/max scale: with "quantile" (the
    # default's choice) a 60-epoch fit's per-record mean traffic was no closer to the
    # real profile than the untrained generator's (0.021 against 0.020).
    params = {**SMALL, "attribute_units": (64, 64), "critic_units": (64, 64, 64),
              "minmax_scale": "unit"}
    synth = DGSynthesizer(epochs=60, sample_len=8, random_state=0, **params).fit(df, schema)
    untrained = copy.copy(synth)
    # Seeded initializers: rebuilding from the config gives the initial weights.
    untrained.model_ = DoppelGANger(synth.model_.config)

    trained_fake = synth.sample(600, random_state=1)
    untrained_fake = untrained.sample(600, random_state=1)
    trained = _marginal_distances(df, trained_fake)
    initial = _marginal_distances(df, untrained_fake)
    print("total variation, untrained -> trained:", initial, trained)
    # Measured at this seed: isp 0.89 -> 0.17, technology 0.26 -> 0.05; state (47 values
    # over 600 homes) stays near 0.78 in so short a fit, so it is only part of the mean.
    assert trained["isp"] < initial["isp"] - 0.4
    assert trained["technology"] < 0.5 * initial["technology"]
    assert np.mean(list(trained.values())) < np.mean(list(initial.values())) - 0.2

    # The per-record mean traffic over the two weeks follows the real profile
    # better than the untrained generator's does.
    def profile(frame):
        return frame.groupby(frame.groupby("home_id").cumcount())["traffic_byte_counter"].mean()

    real_profile = profile(df)
    error_trained = np.abs(profile(trained_fake) - real_profile).mean()
    error_initial = np.abs(profile(untrained_fake) - real_profile).mean()
    assert error_trained < 0.5 * error_initial
