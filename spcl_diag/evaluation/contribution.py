"""How much each modality contributes to a trained model: Shapley values, conditional utilisation, perceptual score.

The end-of-run imbalance metrics of :func:`~spcl_diag.runs.execute.run`, as one function of a
model, its test split, the split whose feature means fill masked modalities (training) and a
random generator, so that a model trained by any loop (a
:class:`~spcl_diag.runs.recorder.RunRecorder` run included) gets them the same way. The
formulas are :mod:`spcl_diag.metrics.contribution`'s; the masked and permuted evaluations
that produce their inputs are :mod:`spcl_diag.evaluation.masking`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.evaluation.masking import (
    MaskValue,
    permuted_scores,
    predictions_scores,
    scores_by_subset,
    subset_predictions,
)
from spcl_diag.evaluation.predict import SplitPredictions
from spcl_diag.metrics.contribution import conditional_utilisation, perceptual_score, shapley_values
from spcl_diag.models.base import Backbone

MASK_VALUE: MaskValue = "mean"  # absent modalities get the training mean feature (not OOD zeros)
PERCEPTUAL_PERMUTATIONS = 3  # permutations averaged per modality (Gat et al. stress the expectation)


@dataclass(frozen=True)
class Contribution:
    """The contribution metrics of a model on a split, and the masked predictions they come from."""

    scores: dict[str, dict[str, float]]  # "shapley_wf1", "conditional_utilisation", "perceptual_score" -> m -> value
    masked: dict[str, SplitPredictions]  # kept modality subset ("" = all masked) -> predictions

    def masked_arrays(self) -> dict[str, np.ndarray]:
        """``predictions.npz``'s ``test_masked_probs_<S>``: joint ``[U, C]`` probabilities with only ``S`` intact
        (``none`` for the empty set), the input of per-class Shapley values."""
        return {f"test_masked_probs_{s or 'none'}": p.probs["joint"].astype(np.float32) for s, p in self.masked.items()}


def contribution_scores(
    model: Backbone,
    split: DeviceSplit,
    *,
    reference: DeviceSplit,
    rng: np.random.Generator,
    batch_size: int,
    intact: SplitPredictions | None = None,
    mask_value: MaskValue = MASK_VALUE,
    n_permutations: int = PERCEPTUAL_PERMUTATIONS,
) -> Contribution:
    r"""Shapley weighted-F1 contributions, conditional utilisation (accuracy) and perceptual scores of ``model``.

    ``model`` is evaluated on ``split`` for the :math:`2^M` kept-modality subsets :math:`S`
    (inputs of the other modalities replaced by their mean over ``reference``), giving
    :math:`v(S)`, and with each modality's features permuted across the utterances of
    ``split`` (``n_permutations`` times, from ``rng``):

    .. math:: \phi_m = \sum_{S \subseteq M \setminus m} \frac{|S|!\,(M - |S| - 1)!}{M!}\,(v(S \cup m) - v(S))

    (Shapley values of weighted-F1 [1]_), conditional utilisation
    :math:`u_m = (v(M) - v(M \setminus m)) / v(M)` of accuracy [2]_ and the perceptual score
    :math:`(v(M) - \mathbb{E}_\pi v_{\pi_m}) / v(M)` of accuracy [3]_.

    Parameters
    ----------
    model
        A trained backbone (its weights are not changed; it runs in eval mode).
    split
        The split to score (the test split at the end of a run), on the model's device.
    reference
        The split whose feature means fill masked modalities (the training split).
    rng
        Source of the permutations (a run draws it from its seed's ``perceptual`` stream,
        :class:`~spcl_diag.config.seeds.RunSeeds`).
    batch_size
        Dialogues per evaluation batch.
    intact
        The model's predictions on ``split`` with nothing masked, when the caller has them
        (the training loop's evaluation of the selected epoch: same weights, same batches):
        reused for the subset of every modality, so there are :math:`2^M - 1 + 3M` passes.
    mask_value
        ``"mean"`` (default) or ``"zero"``.
    n_permutations
        Permutations averaged per modality.

    Returns
    -------
    Contribution
        The metrics by name and modality, and the masked predictions by kept subset.

    References
    ----------
    .. [1] Shapley, "A value for n-person games", 1953; applied to modalities as in
       Hu et al., "SHAPE: An Unified Approach to Evaluate the Contribution and Cooperation of
       Individual Modalities", IJCAI 2022.
    .. [2] Wu et al., "Characterizing and Overcoming the Greedy Nature of Learning in
       Multi-modal Deep Neural Networks", ICML 2022.
    .. [3] Gat et al., "Perceptual Score: What Data Modalities Does Your Model Perceive?",
       NeurIPS 2021.
    """
    masked = subset_predictions(model, split, batch_size=batch_size, mask_value=mask_value, reference=reference,
                                intact=intact)
    by_subset = predictions_scores(masked)
    permuted = permuted_scores(model, split, rng=rng, n_permutations=n_permutations, batch_size=batch_size)
    scores = {
        "shapley_wf1": shapley_values(scores_by_subset(by_subset, "wf1")),
        "conditional_utilisation": conditional_utilisation(scores_by_subset(by_subset, "acc")),
        "perceptual_score": perceptual_score(
            by_subset[model.modalities]["acc"], {m: [s["acc"] for s in runs] for m, runs in permuted.items()}
        ),
    }
    return Contribution(scores, masked)
