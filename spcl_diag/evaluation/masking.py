"""Evaluate a trained model with modalities masked or permuted: the inputs of the contribution metrics.

The formulas live in :mod:`spcl_diag.metrics.contribution`; this module produces their
inputs from a trained :class:`~spcl_diag.models.base.Backbone` and a
:class:`~spcl_diag.data.batching.DeviceSplit`.

Masking replaces the **input features** of the absent modalities (by zeros, or by the
training mean) and runs the whole model as it is. Nothing is removed from the network:
for a backbone whose joint logits are the sum of per-modality logits (late fusion), a
masked modality's branch still runs and still adds its logits for the masked input to the
sum, so :math:`v(S)` is the score of the model *with uninformative input* for the
modalities outside :math:`S`, not of a model without those branches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.evaluation.predict import SplitPredictions, evaluate
from spcl_diag.metrics.classification import classification_scores
from spcl_diag.metrics.contribution import modality_subsets
from spcl_diag.modalities import parse_modalities
from spcl_diag.models.base import Backbone

MaskValue = Literal["zero", "mean"]


def masked_evaluation(
    model: Backbone,
    split: DeviceSplit,
    subsets: Iterable[str],
    *,
    batch_size: int,
    mask_value: MaskValue = "zero",
    reference: DeviceSplit | None = None,
    intact: SplitPredictions | None = None,
) -> dict[str, SplitPredictions]:
    """Predictions of ``model`` on ``split`` with only the modalities of each subset intact.

    For each subset :math:`S` the input features of every modality of the model outside
    :math:`S` are replaced, at the real utterances, by zeros (``mask_value="zero"``) or by
    that modality's mean feature vector over ``reference`` (``"mean"``, usually the training
    split); padding stays zero. The model runs in eval mode, so the result is deterministic.
    See the module docstring for what masking means for late fusion.

    Parameters
    ----------
    model
        A trained backbone (its weights are not changed).
    split
        The split to evaluate, on the model's device.
    subsets
        Modality sets to keep, e.g. ``modality_subsets(model.modalities)``; ``""`` masks all.
    batch_size
        Dialogues per evaluation batch.
    mask_value
        ``"zero"`` or ``"mean"``.
    reference
        The split whose feature means fill masked modalities; required for ``"mean"``.
    intact
        ``evaluate(model, split, batch_size)`` when the caller already has it (the training
        loop's evaluation of the selected model): returned for the subset of all the model's
        modalities, where nothing is masked, instead of evaluating the split again.

    Returns
    -------
    dict
        Subset (canonical string) -> :class:`~spcl_diag.train.loop.SplitPredictions`.

    Examples
    --------
    >>> from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
    >>> from spcl_diag.models import build_backbone
    >>> data = make_synthetic(SyntheticConfig(n_dialogues=10, max_length=8))
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = build_backbone("late_fusion", modalities="tav", dims=data.dims, n_classes=data.n_classes,
    ...                        n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16})
    >>> test = DeviceSplit(data, "test", "cpu")
    >>> preds = masked_evaluation(model, test, ["tav", "t", ""], batch_size=4)
    >>> sorted(preds), preds["t"].probs["joint"].shape == (test.n_utterances, data.n_classes)
    (['', 't', 'tav'], True)
    """
    if mask_value not in ("zero", "mean"):
        raise ValueError(f"mask_value must be 'zero' or 'mean'; got {mask_value!r}.")
    if mask_value == "mean" and reference is None:
        raise ValueError("mask_value='mean' needs the reference split (usually train) whose means fill the mask.")
    canonical = []
    for subset in subsets:
        kept = parse_modalities(subset) if subset else ""
        if set(kept) - set(model.modalities):
            raise ValueError(f"subset {subset!r} names modalities the model lacks; the model has {model.modalities!r}.")
        canonical.append(kept)
    fills = {
        m: (reference.features[m].mean(0) if mask_value == "mean" and reference is not None
            else split.features[m].new_zeros(split.features[m].shape[1]))
        for m in model.modalities
    }  # m -> [d_m]

    def masker(kept: str) -> Callable[[Batch], Batch]:
        def mask(batch: Batch) -> Batch:
            features = dict(batch.features)
            real = batch.mask.unsqueeze(-1).to(features[model.modalities[0]].dtype)  # [B, L, 1]
            for m in model.modalities:
                if m not in kept:
                    features[m] = real * fills[m]  # [B, L, d_m], zero at padding
            return replace(batch, features=features)

        return mask

    def predict(kept: str) -> SplitPredictions:
        if intact is not None and set(kept) == set(model.modalities):
            return intact  # nothing masked: the same forward pass as the plain evaluation
        return evaluate(model, split, batch_size, transform=masker(kept))

    return {kept: predict(kept) for kept in canonical}


def permuted_evaluation(
    model: Backbone,
    split: DeviceSplit,
    modality: str,
    *,
    rng: np.random.Generator,
    n_permutations: int,
    batch_size: int,
) -> list[SplitPredictions]:
    """Predictions of ``model`` with ``modality``'s features permuted across the utterances of ``split``.

    Each permutation :math:`\\pi` draws a uniformly random order of all the split's
    utterances; utterance :math:`i` then gets the ``modality`` features of utterance
    :math:`\\pi(i)` (possibly from another dialogue), the other modalities stay intact.
    The perceptual score of Gat et al. permutes samples of the test set; in conversations
    the sample is the utterance.

    Parameters
    ----------
    model
        A trained backbone.
    split
        The split to evaluate.
    modality
        The modality to permute.
    rng
        Source of the permutations.
    n_permutations
        How many independent permutations (the score is averaged over them).
    batch_size
        Dialogues per evaluation batch.

    Returns
    -------
    list
        One :class:`~spcl_diag.train.loop.SplitPredictions` per permutation.
    """
    if modality not in model.modalities or len(modality) != 1:
        raise ValueError(f"modality must be one of the model's modalities {model.modalities!r}; got {modality!r}.")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1; got {n_permutations}.")
    out = []
    for _ in range(n_permutations):
        perm = torch.as_tensor(rng.permutation(split.n_utterances)).to(split.device)
        shuffled = split.features[modality].index_select(0, perm)  # [U_s, d_m]

        def permute(batch: Batch, shuffled: Tensor = shuffled) -> Batch:
            features = dict(batch.features)
            features[modality] = batch.unflatten(shuffled.index_select(0, batch.utterance_index))
            return replace(batch, features=features)

        out.append(evaluate(model, split, batch_size, transform=permute))
    return out


def subset_scores(
    model: Backbone,
    split: DeviceSplit,
    *,
    batch_size: int,
    mask_value: MaskValue = "zero",
    reference: DeviceSplit | None = None,
) -> dict[str, dict[str, float]]:
    """Joint ``loss``/``acc``/``wf1``/``gold_prob`` of the model for all :math:`2^M` kept-modality subsets.

    The input of :func:`~spcl_diag.metrics.contribution.shapley_values` and
    :func:`~spcl_diag.metrics.contribution.conditional_utilisation`:
    ``{s: v["wf1"] for s, v in subset_scores(...).items()}``. Parameters as in
    :func:`masked_evaluation`.
    """
    preds = subset_predictions(model, split, batch_size=batch_size, mask_value=mask_value, reference=reference)
    return predictions_scores(preds)


def subset_predictions(
    model: Backbone,
    split: DeviceSplit,
    *,
    batch_size: int,
    mask_value: MaskValue = "zero",
    reference: DeviceSplit | None = None,
    intact: SplitPredictions | None = None,
) -> dict[str, SplitPredictions]:
    """:func:`masked_evaluation` for all :math:`2^M` kept-modality subsets of the model.

    The per-utterance input of :func:`~spcl_diag.metrics.per_class.per_class_contribution`;
    :func:`predictions_scores` turns it into the input of the Shapley values.
    """
    return masked_evaluation(
        model, split, modality_subsets(model.modalities), batch_size=batch_size, mask_value=mask_value,
        reference=reference, intact=intact,
    )


def predictions_scores(preds: Mapping[str, SplitPredictions]) -> dict[str, dict[str, float]]:
    """Joint scores of each subset's predictions (the output of :func:`subset_scores`)."""
    return {s: classification_scores(p.probs["joint"], p.labels) for s, p in preds.items()}


def permuted_scores(
    model: Backbone, split: DeviceSplit, *, rng: np.random.Generator, n_permutations: int, batch_size: int
) -> dict[str, list[dict[str, float]]]:
    """Joint scores after permuting each modality, one dict per permutation: the input of
    :func:`~spcl_diag.metrics.contribution.perceptual_score`. Modalities are permuted in
    ``t, a, v`` order from the one ``rng``. Parameters as in :func:`permuted_evaluation`."""
    return {
        m: [
            classification_scores(p.probs["joint"], p.labels)
            for p in permuted_evaluation(model, split, m, rng=rng, n_permutations=n_permutations, batch_size=batch_size)
        ]
        for m in model.modalities
    }


def scores_by_subset(scores: Mapping[str, Mapping[str, float]], metric: str) -> dict[str, float]:
    """``{subset: {metric: value}}`` -> ``{subset: value}`` for one metric."""
    return {s: float(v[metric]) for s, v in scores.items()}
