"""A run that learns nothing says so (issue 30 item 6): one warning line and a notice in result.json."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spcl_diag import RunConfig, run
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.runs.notice import LearnedNothingWarning, learned_nothing_notice, majority_score
from spcl_diag.runs.stack import run_stack

SMALL = {"train.batch_size": 4, "model.hidden_dim": 16, "model.feedforward_dim": 32}


def _dataset(*, informative: bool) -> ConversationDataset:
    """12 dialogues of 4 utterances; train and dev all class 0 unless ``informative`` (features = the label)."""
    rng = np.random.default_rng(0)
    n_dialogues, length = 12, 4
    splits = np.repeat(["train"] * 8 + ["dev"] * 2 + ["test"] * 2, length)
    labels = rng.integers(0, 2, n_dialogues * length) if informative else (splits == "test").astype(int)
    signal = np.eye(2)[labels] * 3 if informative else 0
    features = {m: (signal + rng.normal(size=(len(labels), 2))).astype(np.float32) for m in "ta"}
    return ConversationDataset.from_arrays(features, labels=labels, speakers=np.zeros(len(labels), int),
                                           dialogue_ids=np.repeat(np.arange(n_dialogues), length), splits=splits,
                                           label_names=["calm", "angry"])


def test_the_majority_score_is_the_weighted_f1_of_the_constant_prediction():
    from sklearn.metrics import f1_score

    train, dev = np.array([2, 2, 0, 1, 2]), np.array([0, 2, 2, 1, 1, 1])
    majority, score = majority_score(train, dev, n_classes=3)
    assert majority == 2
    assert score == pytest.approx(f1_score(dev, np.full_like(dev, 2), average="weighted", zero_division=0))


def test_the_notice_names_the_scores_and_the_fix():
    config = RunConfig().resolved()
    text = learned_nothing_notice(config, "abc", 0.2, train_labels=np.array([1, 1, 0]), dev_labels=np.array([1, 0]),
                                  n_classes=2, class_names=["calm", "angry"])
    assert "\n" not in text and "learned nothing" in text and "'angry'" in text
    assert "train.lr, now 0.0002" in text and f"train.epochs, now {config.train.epochs}" in text
    assert learned_nothing_notice(config, "abc", 0.9, train_labels=np.array([1, 1, 0]), dev_labels=np.array([1, 0]),
                                  n_classes=2) is None


def test_a_run_at_the_majority_score_warns_once_and_records_the_notice(tmp_path):
    config = RunConfig(modalities="ta").with_overrides({**SMALL, "train.epochs": 2})
    with pytest.warns(LearnedNothingWarning) as caught:
        result = run(config, tmp_path, device="cpu", progress=False, dataset=_dataset(informative=False))
    assert len(caught) == 1 and str(caught[0].message) == result.result["notice"]
    assert caught[0].filename == "spcl-diag"  # no source line of the package under it
    assert "is not above 1.000" in result.result["notice"]  # train and dev are all calm: the constant scores 1


def test_a_stacked_run_that_learned_nothing_says_so_too(tmp_path):
    config = RunConfig(modalities="ta").with_overrides({**SMALL, "train.epochs": 2})
    with pytest.warns(LearnedNothingWarning) as caught:
        results = run_stack([config.paired(a) for a in ("none", "spcl")], tmp_path, device="cpu", progress=False,
                            dataset=_dataset(informative=False))
    assert len(caught) == 2 and all("notice" in r.result for r in results)


def test_a_run_that_learned_says_nothing(tmp_path):
    config = RunConfig(modalities="ta").with_overrides({**SMALL, "train.epochs": 6, "train.lr": 1e-2})
    with warnings.catch_warnings():
        warnings.simplefilter("error", LearnedNothingWarning)
        result = run(config, tmp_path, device="cpu", progress=False, dataset=_dataset(informative=True))
    assert result.status == "ok" and "notice" not in result.result
