"""Masked and permuted evaluation of a trained late-fusion model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from spcl_diag import RunConfig
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.evaluation.masking import (
    masked_evaluation,
    permuted_evaluation,
    permuted_scores,
    scores_by_subset,
    subset_scores,
)
from spcl_diag.metrics import modality_subsets, shapley_values
from spcl_diag.metrics.classification import classification_scores
from spcl_diag.train.loop import TrainingOutcome, evaluate, train_run

from ..conftest import TINY


@pytest.fixture(scope="module")
def trained() -> TrainingOutcome:
    config = RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav").with_overrides(TINY).resolved()
    dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
    with torch.random.fork_rng():
        return train_run(config, dataset, device=torch.device("cpu"))


def test_full_subset_reproduces_plain_evaluation(trained):
    test = trained.eval_splits["test"]
    plain = evaluate(trained.model, test, 4)
    masked = masked_evaluation(trained.model, test, ["tav"], batch_size=4)["tav"]
    for scope, probs in plain.probs.items():
        np.testing.assert_allclose(masked.probs[scope], probs, atol=1e-6)


@pytest.mark.parametrize("mask_value", ["zero", "mean"])
def test_masking_changes_only_the_masked_branch(trained, mask_value):
    # late fusion has pure heads: masking a's input leaves the t and v heads untouched
    test = trained.eval_splits["test"]
    preds = masked_evaluation(
        trained.model, test, ["tav", "tv"], batch_size=4, mask_value=mask_value, reference=trained.train_split
    )
    for m in "tv":
        np.testing.assert_allclose(preds["tv"].probs[m], preds["tav"].probs[m], atol=1e-6)
    assert not np.allclose(preds["tv"].probs["a"], preds["tav"].probs["a"])


@torch.no_grad()
def test_zero_mask_feeds_zeros(trained):
    test, model = trained.eval_splits["test"], trained.model
    masked = masked_evaluation(model, test, ["t"], batch_size=4)["t"]
    model.eval()
    chunks = []
    for batch in test.eval_batches(4):  # reference: call the model on hand-zeroed a and v features
        features = {m: x if m == "t" else torch.zeros_like(x) for m, x in batch.features.items()}
        chunks.append(model(dataclasses.replace(batch, features=features)).joint.softmax(-1))
    np.testing.assert_allclose(masked.probs["joint"], torch.cat(chunks).numpy(), atol=1e-6)


def test_subset_scores_feed_an_efficient_shapley_game(trained):
    test = trained.eval_splits["test"]
    scores = subset_scores(trained.model, test, batch_size=4, mask_value="mean", reference=trained.train_split)
    assert sorted(scores) == sorted(modality_subsets("tav"))
    full = classification_scores(evaluate(trained.model, test, 4).probs["joint"], test.labels_host)
    assert scores["tav"]["wf1"] == pytest.approx(full["wf1"])
    values = scores_by_subset(scores, "wf1")
    phi = shapley_values(values)
    assert sum(phi.values()) == pytest.approx(values["tav"] - values[""])


def test_permutation_is_seeded(trained):
    test = trained.eval_splits["test"]
    first = permuted_scores(trained.model, test, rng=np.random.default_rng(3), n_permutations=2, batch_size=4)
    again = permuted_scores(trained.model, test, rng=np.random.default_rng(3), n_permutations=2, batch_size=4)
    assert first == again
    a, b = permuted_evaluation(trained.model, test, "t", rng=np.random.default_rng(3), n_permutations=2, batch_size=4)
    assert not np.allclose(a.probs["t"], b.probs["t"])  # two different permutations
    np.testing.assert_allclose(a.probs["a"], b.probs["a"], atol=1e-6)  # other branches untouched


def test_invalid_arguments_are_reported(trained):
    test = trained.eval_splits["test"]
    with pytest.raises(ValueError, match="needs the reference split"):
        masked_evaluation(trained.model, test, ["t"], batch_size=4, mask_value="mean")
    with pytest.raises(ValueError, match="mask_value must be 'zero' or 'mean'; got 'noise'"):
        masked_evaluation(trained.model, test, ["t"], batch_size=4, mask_value="noise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown modality letter"):
        masked_evaluation(trained.model, test, ["x"], batch_size=4)
    with pytest.raises(ValueError, match="n_permutations must be >= 1; got 0"):
        permuted_evaluation(trained.model, test, "t", rng=np.random.default_rng(0), n_permutations=0, batch_size=4)


@pytest.mark.parametrize("backbone", ["late_fusion", "mm_dfn", "ada2i"])
def test_selected_epoch_test_predictions_equal_a_fresh_evaluation(backbone, trained):
    """What lets the end-of-run evaluation reuse the loop's test predictions for the intact subset."""
    if backbone == "late_fusion":
        outcome, batch_size = trained, RunConfig().train.eval_batch_size
    else:
        config = RunConfig(dataset="synthetic", backbone=backbone, modalities="tav").with_overrides(TINY).resolved()
        dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
        with torch.random.fork_rng():
            outcome = train_run(config, dataset, device=torch.device("cpu"))
        batch_size = config.train.eval_batch_size
    fresh = evaluate(outcome.model, outcome.eval_splits["test"], batch_size)
    kept = outcome.predictions["test"]
    assert sorted(fresh.probs) == sorted(kept.probs)
    for scope, probs in fresh.probs.items():
        np.testing.assert_allclose(kept.probs[scope], probs, atol=1e-6, rtol=0)


def test_end_of_run_contribution_evaluates_each_variant_once(trained):
    """2^M - 1 masked subsets + 3M permutations, and the metrics of the old 2^M + 3M passes to 1e-6."""
    from unittest import mock

    from spcl_diag.config.seeds import RunSeeds
    from spcl_diag.evaluation import masking
    from spcl_diag.evaluation.contribution import (
        MASK_VALUE,
        PERCEPTUAL_PERMUTATIONS,
        contribution_scores,
    )
    from spcl_diag.metrics.contribution import conditional_utilisation, perceptual_score

    config = RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav").with_overrides(TINY).resolved()
    with mock.patch.object(masking, "evaluate", wraps=masking.evaluate) as counted:
        found = contribution_scores(
            trained.model, trained.eval_splits["test"], reference=trained.train_split,
            rng=np.random.default_rng(RunSeeds.from_seed(config.seed).perceptual),
            batch_size=config.train.eval_batch_size, intact=trained.predictions["test"])
        metrics, masked = found.scores, found.masked
    assert counted.call_count == 2**3 - 1 + 3 * PERCEPTUAL_PERMUTATIONS
    assert masked["tav"] is trained.predictions["test"]

    # the computation before the reuse: every subset evaluated, the full one included
    model, test, bs = trained.model, trained.eval_splits["test"], config.train.eval_batch_size
    old = masking.subset_predictions(model, test, batch_size=bs, mask_value=MASK_VALUE, reference=trained.train_split)
    assert sorted(old) == sorted(masked)
    for subset, preds in old.items():
        np.testing.assert_allclose(masked[subset].probs["joint"], preds.probs["joint"], atol=1e-6, rtol=0)
    by_subset = masking.predictions_scores(old)
    rng = np.random.default_rng(RunSeeds.from_seed(config.seed).perceptual)
    permuted = permuted_scores(model, test, rng=rng, n_permutations=PERCEPTUAL_PERMUTATIONS, batch_size=bs)
    expected = {
        "shapley_wf1": shapley_values(scores_by_subset(by_subset, "wf1")),
        "conditional_utilisation": conditional_utilisation(scores_by_subset(by_subset, "acc")),
        "perceptual_score": perceptual_score(
            by_subset["tav"]["acc"], {m: [s["acc"] for s in runs] for m, runs in permuted.items()}
        ),
    }
    assert sorted(metrics) == sorted(expected)
    for name, values in expected.items():
        assert sorted(metrics[name]) == sorted(values)
        for key, value in values.items():
            assert metrics[name][key] == pytest.approx(value, abs=1e-6)
