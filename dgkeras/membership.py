"""Membership inference: how well generated series betray which series were trained on.

A distance attack (paper Sec. 6.2) measures leakage empirically; it bounds
nothing. The guarantee under DP-SGD is the accounting of :mod:`dgkeras.privacy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from .exceptions import DataError
from .metrics import nearest_distances


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
