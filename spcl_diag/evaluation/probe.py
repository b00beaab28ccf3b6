"""Linear probes: how much of the emotion a frozen model's per-modality representation carries.

The standard unimodal readout of the modality-imbalance literature (Peng et al., CVPR 2022;
Zhang et al., CVPR 2024): freeze the trained model, take the representation of modality
:math:`m` of every utterance (:meth:`~spcl_diag.models.base.Backbone.representation`), fit a
linear classifier on the training split and score it on dev and test. Unlike the
per-modality heads, which are trained jointly and only through the fused loss, the probe
asks what a classifier *could* read from the modality's features.

The classifier is multinomial logistic regression on features standardised with the
training mean and standard deviation,

.. math:: \\min_{W, b} \\; \\frac1N \\sum_i -\\log \\operatorname{softmax}(W z_i + b)_{y_i}
          + \\frac{\\alpha}{2} \\lVert W \\rVert_2^2 ,

fitted by full-batch L-BFGS from zero weights, so the fit is deterministic and, the
problem being strictly convex, the same as scikit-learn's ``LogisticRegression(C=1 / (N
alpha))`` (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.metrics.classification import accuracy, weighted_f1
from spcl_diag.models.base import Backbone

DEFAULT_L2 = 1e-3  # alpha: L2 penalty on the probe weights (features are standardised)


@torch.no_grad()
def representations(model: Backbone, split: DeviceSplit, batch_size: int) -> dict[str, Tensor]:
    """Modality -> ``[U, h]`` representations of ``split``'s utterances in dataset order (eval mode)."""
    was_training = model.training
    model.eval()
    chunks: dict[str, list[Tensor]] = {}
    for batch in split.eval_batches(batch_size):
        for m, z in model.representation(batch).items():
            chunks.setdefault(m, []).append(z.float())
    model.train(was_training)
    return {m: torch.cat(z) for m, z in chunks.items()}


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe: ``logits = ((z - mean) / scale) @ weight.T + bias``."""

    mean: Tensor  # [h]
    scale: Tensor  # [h]
    weight: Tensor  # [C, h]
    bias: Tensor  # [C]

    def predict(self, z: Tensor) -> np.ndarray:
        """``[N]`` predicted classes of representations ``z`` ``[N, h]``."""
        logits = ((z - self.mean) / self.scale) @ self.weight.T + self.bias
        return logits.argmax(1).cpu().numpy()


def fit_linear_probe(z: Tensor, labels: Tensor, n_classes: int, *, l2: float = DEFAULT_L2, max_iter: int = 200) -> LinearProbe:
    """Fit the regularised multinomial logistic regression of the module docstring.

    Parameters
    ----------
    z
        ``[N, h]`` training representations.
    labels
        ``[N]`` gold classes.
    n_classes
        :math:`C`.
    l2
        :math:`\\alpha > 0`.
    max_iter
        L-BFGS iterations.

    Examples
    --------
    >>> z = torch.tensor([[0.0], [0.2], [1.0], [1.2]])
    >>> probe = fit_linear_probe(z, torch.tensor([0, 0, 1, 1]), 2)
    >>> probe.predict(torch.tensor([[0.1], [1.1]])).tolist()
    [0, 1]
    """
    if l2 <= 0:
        raise ValueError(f"l2 must be > 0; got {l2}.")
    if len(z) == 0:
        raise ValueError("a linear probe needs at least one training utterance.")
    z = z.detach().double()
    mean, scale = z.mean(0), z.std(0, unbiased=False).clamp_min(1e-8)
    x = (z - mean) / scale
    weight = torch.zeros(n_classes, z.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, tolerance_grad=1e-9,
                                  tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight.T + bias, labels) + 0.5 * l2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    dtype = torch.float32
    return LinearProbe(mean.to(dtype), scale.to(dtype), weight.detach().to(dtype), bias.detach().to(dtype))


def probe_scores(
    model: Backbone, splits: dict[str, DeviceSplit], *, batch_size: int = 64, l2: float = DEFAULT_L2
) -> dict[str, dict[str, dict[str, float]]]:
    """Probe accuracy and weighted F1 per modality on dev and test: ``{split: {"wf1": {m: v}, "acc": {m: v}}}``.

    ``splits`` holds ``"train"`` (where each probe is fitted) and any of ``"dev"``, ``"test"``.
    The run directory keeps the result as ``probe.json``; the run tables show it as
    ``test_probe_wf1_<m>``, ``dev_probe_acc_<m>``, ...

    Examples
    --------
    >>> from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
    >>> from spcl_diag.models import build_backbone
    >>> data = make_synthetic(SyntheticConfig(n_dialogues=12, max_length=6))
    >>> model = build_backbone("late_fusion", modalities="tav", dims=data.dims, n_classes=data.n_classes,
    ...                        n_speakers=data.n_speakers, overrides={"hidden_dim": 8, "feedforward_dim": 16})
    >>> splits = {s: DeviceSplit(data, s, "cpu") for s in ("train", "test")}
    >>> sorted(probe_scores(model, splits)["test"]["wf1"])
    ['a', 't', 'v']
    """
    if "train" not in splits:
        raise ValueError("probe_scores needs the train split to fit the probes on.")
    train = splits["train"]
    n_classes = model.n_classes
    z_train = representations(model, train, batch_size)
    y_train = torch.as_tensor(train.labels_host, device=next(iter(z_train.values())).device)
    probes = {m: fit_linear_probe(z, y_train, n_classes, l2=l2) for m, z in z_train.items()}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, split in splits.items():
        if name == "train":
            continue
        z = representations(model, split, batch_size)
        predicted = {m: probes[m].predict(z[m]) for m in probes}
        out[name] = {
            "wf1": {m: weighted_f1(split.labels_host, p, n_classes=n_classes) for m, p in predicted.items()},
            "acc": {m: accuracy(split.labels_host, p) for m, p in predicted.items()},
        }
    return out
