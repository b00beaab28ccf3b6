"""Stacked arms: every arm of a stack trains as its solo run does (issue 19, item 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spcl_diag import RunConfig
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.curriculum.arms import ARMS, PacingRecord, top_k_mask
from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
from spcl_diag.curriculum.stacked import StackedCurriculum, StackedStep
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.errors import NonFiniteLossError
from spcl_diag.models import BUILTIN_BACKBONES
from spcl_diag.train import optimisation
from spcl_diag.train import stacked as stacked_module
from spcl_diag.train.loop import TrainingOutcome, train_run
from spcl_diag.train.stacked import PairedArmFailedError, stack_problems, train_stacked

CPU = torch.device("cpu")
SMALL = {"train.epochs": 3, "train.batch_size": 4, "data.synthetic.n_dialogues": 16, "data.synthetic.min_length": 3,
         "data.synthetic.max_length": 8, "model.hidden_dim": 8}
WIDTHS = {  # small widths of each backbone's own settings
    "biddin": {"model.hidden2_dim": 8, "model.hidden3_dim": 8, "model.hidden4_dim": 8, "model.attention_heads": 2},
    **{b: {"model.feedforward_dim": 16} for b in ("late_fusion", "mmgcn", "mm_dfn", "dialogue_gcn", "ada2i")},
}
TOLERANCE = 1e-5


def small_config(backbone: str) -> RunConfig:
    config = RunConfig(dataset="synthetic", backbone=backbone, modalities="tav", curriculum="spcl")
    return config.with_overrides({**SMALL, **WIDTHS[backbone]}).resolved()


def run_data(config):
    return resolve_dataset(config.dataset, config.data, modalities=config.modalities,
                           seed=RunSeeds.from_seed(config.seed).dev_split)


def solo_outcomes(config, data, arms) -> dict[str, TrainingOutcome]:
    outcomes: dict[str, TrainingOutcome] = {}
    for arm in ["spcl", *[a for a in arms if a != "spcl"]]:
        pacing = outcomes["spcl"].pacing if arm in ("random", "anti") else None
        outcomes[arm] = train_run(config.paired(arm), data, device=CPU, pacing=pacing)
    return outcomes


def assert_same_training(stacked: TrainingOutcome, solo: TrainingOutcome, arm: str) -> None:
    for key in "lcd":
        np.testing.assert_allclose(stacked.trajectories[key], solo.trajectories[key], atol=TOLERANCE, err_msg=f"{arm} {key}")
    assert (stacked.trajectories["v"] == solo.trajectories["v"]).all(), f"{arm}: selection masks differ"
    np.testing.assert_array_equal(stacked.pacing.kept, solo.pacing.kept)
    rows = {r[:4]: r[4] for r in stacked.rows if r[3] != "wall_seconds"}
    expected = {r[:4]: r[4] for r in solo.rows if r[3] != "wall_seconds"}
    assert rows.keys() == expected.keys()
    keys = sorted(expected)
    np.testing.assert_allclose([rows[k] for k in keys], [expected[k] for k in keys], atol=TOLERANCE, err_msg=arm)
    assert stacked.best_epoch == solo.best_epoch
    for split, preds in solo.predictions.items():
        for scope, probs in preds.probs.items():
            np.testing.assert_allclose(stacked.predictions[split].probs[scope], probs, atol=TOLERANCE)
    # Weights are not compared element by element: Adam divides by sqrt(v), so a weight whose
    # gradients are ~1e-9 moves by ~lr on last-bit differences; the predictions above are what they decide.


@pytest.mark.parametrize("backbone", sorted(BUILTIN_BACKBONES))
def test_every_stacked_arm_equals_its_solo_run(backbone):
    config = small_config(backbone)
    data = run_data(config)
    arms = list(ARMS) if backbone == "late_fusion" else ["none", "spcl", "random", "anti"]
    stacked = train_stacked([config.paired(a) for a in arms], data, device=CPU)
    solo = solo_outcomes(config, data, arms)
    for arm in arms:
        assert isinstance(stacked[arm], TrainingOutcome), stacked[arm]
        assert_same_training(stacked[arm], solo[arm], arm)  # type: ignore[arg-type]


BALANCING_CASES = {  # method -> (its settings for the test, a row that shows it acted)
    "ogm-ge": ({"balancing_config.start_epoch": 0}, lambda rows: min(rows["modulation"]) < 1),
    "ada2i": ({"balancing_config.start_epoch": 0}, lambda rows: min(rows["modulation"]) < 1),
    "uni-aux": ({}, lambda rows: min(rows["aux_loss"]) > 0),
    "g-blending": ({"balancing_config.super_epoch": 1}, lambda rows: max(rows["blend_weight"]) > 0.34),
    "pmr": ({}, lambda rows: max(rows["pmr_beta"]) > 0 and max(rows["pmr_gamma"]) > 0),
}


@pytest.mark.parametrize(("backbone", "method"), [("late_fusion", m) for m in BALANCING_CASES] + [("ada2i", "ada2i")])
def test_stacked_balancing_arms_equal_their_solo_runs(backbone, method):
    """Each arm's balancer has its own state (coefficients, uni-aux's heads, PMR's prototypes, G-Blend's weights
    from copies of the arm's model on the held-out split) and edits its own slice of the stacked gradients, its
    noise and draws as the solo run's: probabilities and rows within 1e-4 of the solo run after 3 epochs."""
    settings, acted = BALANCING_CASES[method]
    config = small_config(backbone).with_overrides({"balancing": method, "modalities": "ta", **settings}).resolved()
    data = run_data(config)
    arms = ["none", "spcl", "random"]
    stacked = train_stacked([config.paired(a) for a in arms], data, device=CPU)
    solo = solo_outcomes(config, data, arms)
    for arm in arms:
        outcome = stacked[arm]
        assert isinstance(outcome, TrainingOutcome), outcome
        by_metric: dict[str, list[float]] = {}
        for r in outcome.rows:
            by_metric.setdefault(r[3], []).append(r[4])
        assert acted(by_metric), f"{method} {arm}: the balancer did not act"
        for split, preds in solo[arm].predictions.items():
            for scope, probs in preds.probs.items():
                np.testing.assert_allclose(outcome.predictions[split].probs[scope], probs, atol=1e-4)
        rows = {r[:4]: r[4] for r in outcome.rows if r[3] != "wall_seconds"}
        expected = {r[:4]: r[4] for r in solo[arm].rows if r[3] != "wall_seconds"}
        assert rows.keys() == expected.keys()
        np.testing.assert_allclose([rows[k] for k in sorted(expected)], [expected[k] for k in sorted(expected)], atol=1e-4)


def test_paced_arms_without_spcl_in_the_stack_replay_its_record():
    config = small_config("late_fusion")
    data = run_data(config)
    solo = solo_outcomes(config, data, ["spcl", "random", "anti"])
    stacked = train_stacked([config.paired(a) for a in ("random", "anti")], data, device=CPU,
                            pacing={"random": solo["spcl"].pacing, "anti": solo["spcl"].pacing})
    for arm in ("random", "anti"):
        assert_same_training(stacked[arm], solo[arm], arm)  # type: ignore[arg-type]


def test_a_non_finite_arm_fails_alone_and_takes_its_paced_arms_with_it(monkeypatch):
    config = small_config("late_fusion")
    data = run_data(config)
    original = stacked_module.StackedCurriculum.step

    def poisoned(self, *args, **kwargs):  # the spcl arm's loss turns NaN in the second epoch
        step = original(self, *args, **kwargs)
        if self.counts.epochs == 1:
            nan = torch.tensor([float("nan") if a == "spcl" else 0.0 for a in self.arms])
            step = StackedStep(step.loss + nan, step.keep, step.difficulty, step.threshold)
        return step

    monkeypatch.setattr(stacked_module.StackedCurriculum, "step", poisoned)
    outcomes = train_stacked([config.paired(a) for a in ("none", "spcl", "random")], data, device=CPU)
    assert isinstance(outcomes["spcl"], NonFiniteLossError) and outcomes["spcl"].epoch == 2
    assert isinstance(outcomes["random"], PairedArmFailedError)
    monkeypatch.undo()
    none = outcomes["none"]
    assert isinstance(none, TrainingOutcome)
    assert_same_training(none, train_run(config.paired("none"), data, device=CPU), "none")


def test_stacked_curriculum_equals_each_arms_rule_on_random_batches():
    generator = torch.Generator().manual_seed(0)
    A, N, C, B = len(ARMS), 40, 4, 6
    joint = torch.randn(A, N, C, generator=generator)
    per_modality = {m: torch.randn(A, N, C, generator=generator) for m in "tav"}
    labels = torch.randint(0, C, (N,), generator=generator)
    dialogue = torch.arange(N) % B
    weights = torch.rand(C, generator=generator) + 0.5
    kwargs = {"lambda0": 1.2, "growth": 1.3, "normalisation": "kept", "class_weights": weights}
    stack = StackedCurriculum(ARMS, generator=torch.Generator().manual_seed(7), **kwargs)
    steps = [stack.step(joint, per_modality, labels, dialogue, n_dialogues=B) for _ in range(2)]
    spcl = ARMS.index("spcl")
    record = PacingRecord(kept=np.array([[int(s.keep[spcl].sum()) for s in steps]]), size=np.array([[N, N]]))
    for a, arm in enumerate(ARMS):
        solo = SelfPacedCurriculum(arm, pacing=record, generator=torch.Generator().manual_seed(7), **kwargs)
        for step in steps:
            expected = solo.step(joint[a], {m: z[a] for m, z in per_modality.items()}, labels, dialogue, n_dialogues=B)
            assert step.keep[a].tolist() == expected.keep.tolist(), arm
            torch.testing.assert_close(step.loss[a], expected.loss)
            torch.testing.assert_close(step.difficulty.difficulty[a], expected.difficulty.difficulty)
    assert 0 < record.kept.sum() < 2 * N  # the threshold kept some but not all


def test_top_k_mask_is_topk_and_breaks_ties_by_position():
    scores = torch.rand(3, 50, generator=torch.Generator().manual_seed(1))
    k = torch.tensor([0, 17, 50])
    mask = top_k_mask(scores, k)
    for row, count in zip(range(3), k.tolist()):
        expected = torch.zeros(50, dtype=torch.bool).index_fill_(0, scores[row].topk(count).indices, True)
        assert mask[row].tolist() == expected.tolist()
    assert top_k_mask(torch.tensor([1.0, 1.0, 1.0, 0.0]), 2).tolist() == [True, True, False, False]


def test_stack_problems_name_what_differs():
    config = small_config("late_fusion")
    assert stack_problems([config.paired(a) for a in ("none", "spcl")]) == []
    assert "differ in their curriculum only" in stack_problems([config, config.with_overrides({"seed": 1}).paired("none")])[0]
    assert "must differ" in stack_problems([config, config])[0]
    assert stack_problems([config.with_overrides({"balancing": "ogm-ge", "modalities": "ta"})]) == []
    assert "balancing agm trains solo: its 2^M masked" in stack_problems([config.with_overrides({"balancing": "agm"})])[0]
    with pytest.raises(ValueError, match="cannot train as one stack"):
        train_stacked([config, config], run_data(config), device=CPU)


def test_a_non_finite_loss_fails_solo_and_stacked_runs_alike():
    """One semantics (spcl_diag.train.epoch): the arm fails at the end of the epoch, with the same error."""
    from spcl_diag.train.loop import train_run as solo_run

    config = small_config("late_fusion").with_overrides({"train.lr": 1e30}).resolved()
    data = run_data(config)
    with pytest.raises(NonFiniteLossError) as solo:
        solo_run(config.paired("none"), data, device=CPU)
    stacked = train_stacked([config.paired(a) for a in ("none", "spcl", "anti")], data, device=CPU)
    assert isinstance(stacked["none"], NonFiniteLossError)
    assert (stacked["none"].epoch, str(stacked["none"])) == (solo.value.epoch, str(solo.value))
    assert isinstance(stacked["spcl"], NonFiniteLossError) and isinstance(stacked["anti"], PairedArmFailedError)


# ------------------------------------------------ training basics (issue 30, item 7): stacked as solo
def _stacked_and_solo(overrides, arms=("none", "spcl", "random")):
    config = small_config("late_fusion").with_overrides(overrides).resolved()
    data = run_data(config)
    return config, train_stacked([config.paired(a) for a in arms], data, device=CPU), solo_outcomes(config, data, arms)


@pytest.mark.parametrize("overrides", [
    {"train.optimizer": "adamw", "train.weight_decay": 0.1},
    {"train.optimizer": "sgd", "train.lr": 0.05},
    {"train.scheduler": "cosine"},
    {"train.scheduler": "step", "train.epochs": 4},
    {"train.grad_accumulation": 2},
], ids=["adamw", "sgd", "cosine", "step", "accumulation"])
def test_stacked_arms_equal_their_solo_runs_with_each_option(overrides):
    _, stacked, solo = _stacked_and_solo(overrides)
    for arm, outcome in stacked.items():
        assert isinstance(outcome, TrainingOutcome), outcome
        assert_same_training(outcome, solo[arm], arm)


def test_plateau_decays_each_arm_on_its_own_dev_score_stacked_as_solo(monkeypatch):
    monkeypatch.setattr(optimisation, "PLATEAU_PATIENCE", 0)  # decay after every epoch without a better dev score
    _, stacked, solo = _stacked_and_solo({"train.scheduler": "plateau", "train.epochs": 5, "train.lr": 3e-3})
    decays = set()
    for arm, outcome in stacked.items():
        assert isinstance(outcome, TrainingOutcome), outcome
        assert_same_training(outcome, solo[arm], arm)
        dev = [v for e, s, c, m, v in outcome.rows if (s, c, m) == ("dev", "joint", "wf1")]
        decays.add(tuple(np.flatnonzero(np.diff(np.maximum.accumulate(dev)) <= 0)))
    assert len(decays) > 1, "the arms' rates never differed: the per-arm scaling was not exercised"


def test_early_stopping_keeps_pairs_paired_stacked_as_solo():
    config, stacked, solo = _stacked_and_solo({"train.patience": 1, "train.epochs": 8, "train.lr": 3e-2},
                                              arms=("none", "spcl", "random", "anti"))
    trained = {}
    for arm, outcome in stacked.items():
        assert isinstance(outcome, TrainingOutcome), outcome
        assert_same_training(outcome, solo[arm], arm)
        epochs = sorted({r[0] for r in outcome.rows})
        trained[arm] = len(epochs)
        assert outcome.trajectories["d"].shape[0] == outcome.pacing.kept.shape[0] == len(outcome.epoch_seconds) == len(epochs)
        if arm not in ("random", "anti"):  # stopped one epoch after its best, or at the end
            assert len(epochs) == min(outcome.best_epoch + 1, config.train.epochs)
    assert trained["random"] == trained["anti"] == trained["spcl"] < config.train.epochs
