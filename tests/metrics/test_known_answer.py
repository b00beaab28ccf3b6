"""Known-answer tests on the synthetic benchmark: weaker audio must show up as more imbalance.

Two small late-fusion runs differ only in the informativeness of audio (0 = pure noise vs
1.5 = stronger than the default text). With useless audio, text's gold-class confidence
towers over the weakest modality's (larger rho_t) and audio contributes nothing to the
masked-evaluation metrics; with informative audio, it takes a real share.
"""

from __future__ import annotations

import math

import pytest

from spcl_diag import RunConfig, run
from spcl_diag.runs.loading import flatten_result

# Small but able to learn in about a second on CPU: 40 dialogues, 6 epochs, one encoder layer.
KNOWN_ANSWER = {
    "train.epochs": 6,
    "train.batch_size": 4,
    "train.lr": 3e-3,
    "data.synthetic.n_dialogues": 40,
    "data.synthetic.min_length": 3,
    "data.synthetic.max_length": 8,
    "model.hidden_dim": 16,
    "model.feedforward_dim": 32,
    "model.encoder_nlayers": 1,
    "model.drop_rate": 0.1,
}
WEAK_AUDIO, STRONG_AUDIO = 0.0, 1.5


@pytest.fixture(scope="module")
def imbalance(tmp_path_factory) -> dict[float, dict]:
    out = tmp_path_factory.mktemp("known_answer")
    results = {}
    for audio in (WEAK_AUDIO, STRONG_AUDIO):
        config = RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav", seed=0).with_overrides(
            {**KNOWN_ANSWER, "data.synthetic.informativeness": {"t": 1.0, "a": audio, "v": 0.3}}
        )
        result = run(config, out, device="cpu")
        assert result.status == "ok", (result.path / "error.txt").read_text()
        results[audio] = result.result
    return results


def _audio_share(shapley: dict[str, float]) -> float:
    return shapley["a"] / sum(shapley.values())


def test_weaker_audio_raises_the_text_disparity_ratio(imbalance):
    weak, strong = (imbalance[a]["imbalance"]["disparity_ratio"] for a in (WEAK_AUDIO, STRONG_AUDIO))
    assert weak["t"] > strong["t"]
    assert weak["a"] < strong["a"]


def test_weaker_audio_lowers_its_shapley_share(imbalance):
    weak, strong = (imbalance[a]["imbalance"]["shapley_wf1"] for a in (WEAK_AUDIO, STRONG_AUDIO))
    assert _audio_share(weak) < _audio_share(strong)
    assert abs(weak["a"]) < 0.05  # noise audio contributes (almost) nothing
    assert strong["a"] > 0.1


def test_weaker_audio_is_less_utilised_and_less_perceived(imbalance):
    for metric in ("conditional_utilisation", "perceptual_score"):
        weak, strong = (imbalance[a]["imbalance"][metric]["a"] for a in (WEAK_AUDIO, STRONG_AUDIO))
        assert weak < strong, metric


def test_result_json_holds_the_masked_metrics_and_flattens(imbalance):
    result = imbalance[STRONG_AUDIO]
    for key in ("shapley_wf1", "conditional_utilisation", "perceptual_score", "disparity_ratio"):
        assert set(result["imbalance"][key]) == set("tav"), key
    flat = flatten_result(result)
    assert {"test_shapley_wf1_a", "test_conditional_utilisation_v", "test_perceptual_score_t"} <= set(flat)
    assert 0 <= flat["test_unimodal_wf1_spread"] <= 1
    # the Shapley values sum to v(all) - v(empty) <= v(all) - 0 = the test wF1
    assert sum(result["imbalance"]["shapley_wf1"].values()) <= result["test"]["joint"]["wf1"] + 1e-12


def test_single_modality_run_omits_the_imbalance_metrics(tmp_path, tiny_config):
    result = run(tiny_config.with_overrides({"modalities": "t"}), tmp_path, device="cpu")
    assert result.status == "ok", (result.path / "error.txt").read_text()
    assert result.result["imbalance"] == {}
    assert not math.isnan(result.test_wf1)
