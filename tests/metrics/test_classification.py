"""Classification scores against scikit-learn's definitions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from spcl_diag.metrics import confusion_matrix
from spcl_diag.metrics.classification import (
    classification_scores,
    macro_f1,
    per_class_f1,
    per_class_scores,
    weighted_f1,
)


def draws(seed: int):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 60)), int(rng.integers(2, 8))
    # skewed class frequencies so some classes are absent from the gold or the predictions
    labels = rng.choice(c, size=n, p=rng.dirichlet(np.full(c, 0.5)))
    predictions = rng.choice(c, size=n, p=rng.dirichlet(np.full(c, 0.5)))
    return labels, predictions, c


@pytest.mark.parametrize("seed", range(40))
def test_f1_scores_match_sklearn(seed):
    labels, predictions, c = draws(seed)
    classes = list(range(c))
    expected = skm.f1_score(labels, predictions, average=None, labels=classes, zero_division=np.nan)
    np.testing.assert_allclose(per_class_f1(labels, predictions, n_classes=c), expected, equal_nan=True)
    assert macro_f1(labels, predictions, n_classes=c) == pytest.approx(
        skm.f1_score(labels, predictions, average="macro", zero_division=0.0)
    )
    assert weighted_f1(labels, predictions, n_classes=c) == pytest.approx(
        skm.f1_score(labels, predictions, average="weighted", zero_division=0.0)
    )


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
@pytest.mark.parametrize("seed", range(10))
def test_confusion_matrix_matches_sklearn(seed, normalize):
    labels, predictions, c = draws(seed)
    expected = skm.confusion_matrix(labels, predictions, labels=list(range(c)), normalize=normalize)
    np.testing.assert_allclose(confusion_matrix(labels, predictions, n_classes=c, normalize=normalize),
                               np.nan_to_num(expected))


def test_confusion_matrix_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="classes must lie in 0..2"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), n_classes=3)
    with pytest.raises(ValueError, match="normalize"):
        confusion_matrix(np.array([0]), np.array([0]), normalize="rows")  # type: ignore[arg-type]


def test_scores_of_probabilities_name_every_class():
    rng = np.random.default_rng(0)
    probs, labels = rng.dirichlet(np.ones(3), size=30), rng.integers(0, 3, size=30)
    scores = per_class_scores(probs, labels, ["Neutral", "fear", "dis gust"])
    assert list(scores) == ["f1_class_neutral", "f1_class_fear", "f1_class_dis_gust"]
    expected = skm.f1_score(labels, probs.argmax(1), average=None, labels=[0, 1, 2], zero_division=np.nan)
    np.testing.assert_allclose(list(scores.values()), expected)
    assert classification_scores(probs, labels)["macro_f1"] == pytest.approx(
        skm.f1_score(labels, probs.argmax(1), average="macro"))
    with pytest.raises(ValueError, match="not distinct"):
        per_class_scores(probs, labels, ["a b", "a-b", "c"])
