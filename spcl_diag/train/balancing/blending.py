r"""Gradient-Blending (Wang, Tran and Feiszli, CVPR 2020): loss weights per head from overfitting and generalisation.

:math:`\mathcal L = \sum_k w_k \mathcal L_k` over the heads :math:`k \in \{\text{joint}\} \cup S`
(:class:`GradientBlending`), with weights from the overfitting-to-generalisation ratio
(:func:`blending_weights`, Eq. 6-7), re-estimated every ``super_epoch`` epochs. The method
trains every modality's head as a unimodal classifier and needs *pure* heads.

Estimators (``balancing_config.estimator``):

* ``"held-out"`` (default), G-Blend's own (the paper's Algorithm 1; GeWu-Lab/BalanceBenchmark,
  ``balancemm/trainer/GBlending_trainer.py``, ``super_epoch_origin``): at epoch index 0 and then
  every ``super_epoch`` epochs, a copy of the current model is trained from the current state
  on each head's own loss alone (the joint cross-entropy for the multimodal model, the head's
  cross-entropy for each unimodal one) for ``super_epoch`` epochs, with a fresh Adam of the run's
  learning rate and weight decay and the run's clip (always Adam, whatever ``train.optimizer``
  and ``train.scheduler`` say: a departure from reusing the run's optimiser, kept so that the
  estimates do not change with the run's schedule); the train loss :math:`L^T` (over the
  training dialogues) and the held-out loss :math:`L^V` of that head are measured, in eval
  mode, before and after. The held-out part is a fixed 10% of the training dialogues
  (:data:`G_BLEND_HOLDOUT`, drawn from the run's balancing seed; never the dev split, which
  selects the model), carved out of training for every epoch of the run
  (:func:`carve_holdout`). The copies train inside ``torch.random.fork_rng`` under their own
  seed, so the run's dropout stream is untouched. ``super_epoch`` 10 as in BalanceBenchmark's
  ``configs/trainer_config.yaml``.
* ``"online"``: the blended model's own heads at consecutive checkpoints (the end of epoch
  index 0, then every ``super_epoch`` epochs): :math:`L^T` is a head's mean cross-entropy over
  the epoch's training batches in training mode, :math:`L^V` its loss on the **dev** split. It
  measures how the heads of the *blended* model move under the blended loss, a feedback loop,
  not G-Blend's estimate of each unimodal model trained alone; it costs no extra training.

Both: the weights start uniform, :math:`w_k = 1 / (M + 1)`; a head whose held-out loss did not
fall gets weight 0 and a super-epoch in which none fell keeps the previous weights. The joint
head's term is the curriculum's loss (``reduce`` of the joint cross-entropy), so SPCL's selection
and normalisation apply to every head; every cross-entropy carries ``train.class_weights``.
Logged per epoch: ``blend_weight`` for scope ``joint`` and each modality (the weights in force).

References
----------
.. [1] Wang, Tran, Feiszli. "What Makes Training Multi-Modal Classification Networks Hard?"
   CVPR 2020. Code: facebookresearch/VMZ; estimator as in GeWu-Lab/BalanceBenchmark.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from spcl_diag._deprecation import moved
from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.metrics.classification import cross_entropy
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing.base import Balancer, EpochProbs, Reduce, unimodal_losses

G_BLEND_HOLDOUT = 0.1  # share of the training dialogues held out (the 8-10%; BalanceBenchmark uses a split)
G_BLENDING_ESTIMATORS: tuple[str, ...] = ("held-out", "online")


def carve_holdout(
    dataset: ConversationDataset, fraction: float, *, rng: np.random.Generator
) -> tuple[ConversationDataset, ConversationDataset]:
    """``dataset`` without a random ``fraction`` of its training dialogues, and those dialogues alone.

    The held-out dialogues (at least one) keep the split name ``"train"`` in the second dataset.

    Examples
    --------
    >>> from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
    >>> data = make_synthetic(SyntheticConfig(n_dialogues=20))
    >>> rest, held = carve_holdout(data, 0.1, rng=np.random.default_rng(0))
    >>> len(rest.dialogue_indices("train")) + len(held.dialogue_indices("train")) == len(data.dialogue_indices("train"))
    True
    """
    train = dataset.dialogue_indices("train")
    n = max(1, round(fraction * len(train)))
    held = np.zeros(dataset.n_dialogues, bool)
    held[rng.choice(train, size=n, replace=False)] = True
    return _dialogues(dataset, ~held), _dialogues(dataset, held)


def _dialogues(dataset: ConversationDataset, keep: np.ndarray) -> ConversationDataset:
    """The dialogues where ``keep`` is true, in dataset order."""
    index = np.flatnonzero(keep)
    rows = dataset.utterance_rows(index)
    lengths = dataset.lengths[index]
    return dataclasses.replace(
        dataset, features={m: x[rows] for m, x in dataset.features.items()},
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), dialogue_ids=dataset.dialogue_ids[index],
        splits=dataset.splits[index], speakers=dataset.speakers[rows], labels=dataset.labels[rows],
    )


def blending_weights(
    train_before: Mapping[str, float],
    dev_before: Mapping[str, float],
    train_after: Mapping[str, float],
    dev_after: Mapping[str, float],
) -> dict[str, float] | None:
    r"""Gradient-Blending weights of each head from its losses at two checkpoints.

    With :math:`L^T` the training loss and :math:`L^V` the held-out loss of head :math:`k` at
    the start (:math:`n`) and the end (:math:`n + \Delta`) of a super-epoch, the overfitting
    is :math:`O = L^V - L^T` and (paper, eq. 6-7)

    .. math::
        \Delta G_k = L^V_{k,n} - L^V_{k,n+\Delta}, \qquad
        \Delta O_k = O_{k,n+\Delta} - O_{k,n}, \qquad
        w_k = \frac{1}{Z} \frac{\Delta G_k}{\Delta O_k^2}, \quad \sum_k w_k = 1.

    A head whose held-out loss did not fall (:math:`\Delta G_k \le 0`) gets weight 0, and
    :math:`\Delta O_k^2` is floored at :math:`10^{-12}` (both unstated in the paper).

    Returns
    -------
    dict or None
        Head -> weight, or ``None`` when no head generalised better (every
        :math:`\Delta G \le 0`): the caller keeps its weights.

    Examples
    --------
    >>> w = blending_weights({"joint": 1.0, "t": 1.2}, {"joint": 1.4, "t": 1.5},
    ...                      {"joint": 0.6, "t": 1.0}, {"joint": 1.2, "t": 1.4})
    >>> {k: round(v, 3) for k, v in w.items()}
    {'joint': 0.333, 't': 0.667}
    """
    raw = {}
    for k in train_before:
        gain = dev_before[k] - dev_after[k]
        overfit = (dev_after[k] - train_after[k]) - (dev_before[k] - train_before[k])
        raw[k] = max(gain, 0.0) / max(overfit**2, 1e-12)
    total = sum(raw.values())
    if not np.isfinite(total) or total <= 0:
        return None
    return {k: v / total for k, v in raw.items()}



class GradientBlending(Balancer):
    r"""``g-blending``: :math:`\sum_k w_k \mathcal L_k` over the joint head and each modality's head.

    Parameters
    ----------
    modalities
        The active modalities.
    super_epoch
        Epochs between weight estimates (and, ``held-out``, epochs each copy trains).
    estimator
        ``"held-out"`` or ``"online"`` (module docstring).
    holdout
        The held-out dialogues (``held-out`` only).
    trainer
        ``(lr, weight_decay, batch_size, clip_norm)`` of the copies (``held-out`` only).
    seed
        Seed of the copies' batch order and random draws.
    class_weights
        ``[C]`` class weights of the joint loss, or ``None``.
    """

    def __init__(
        self, modalities: str, *, super_epoch: int, estimator: str = "online", holdout: DeviceSplit | None = None,
        trainer: tuple[float, float, int, float] | None = None, seed: int = 0, class_weights: Tensor | None = None,
    ):
        self.modalities, self.super_epoch, self.class_weights = modalities, super_epoch, class_weights
        self.estimator, self.holdout, self.trainer, self.seed = estimator, holdout, trainer, seed
        self.heads = ("joint", *modalities)
        self.weights = {k: 1.0 / len(self.heads) for k in self.heads}
        self._checkpoint: tuple[dict[str, float], dict[str, float]] | None = None
        self._epoch_weights: dict[str, float] | None = None

    def loss(self, loss: Tensor, output: ModelOutput, batch: Batch, *, reduce: Reduce, epoch: int) -> Tensor:
        unimodal = unimodal_losses(output.per_modality, batch.labels, self.modalities, reduce, class_weights=self.class_weights)
        self._epoch_weights = dict(self.weights)
        return self.weights["joint"] * loss + sum(self.weights[m] * unimodal[m] for m in self.modalities)

    def epoch_rows(self) -> dict[tuple[str, str], Tensor | float]:
        if self._epoch_weights is None:
            return {}
        rows: dict[tuple[str, str], Tensor | float] = {("blend_weight", k): w for k, w in self._epoch_weights.items()}
        self._epoch_weights = None
        return rows

    def epoch_start(self, model: Backbone, train: DeviceSplit, *, epoch: int) -> None:
        if self.estimator != "held-out" or epoch % self.super_epoch:
            return
        assert self.holdout is not None and self.trainer is not None  # make_balancer gives both
        devices = [train.device] if train.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed + epoch)
            before, after = {}, {}
            for k in self.heads:
                copied = copy.deepcopy(model)
                before[k] = (self._loss(copied, train, k), self._loss(copied, self.holdout, k))
                self._train_copy(copied, train, k, rng=np.random.default_rng([self.seed, epoch]))
                after[k] = (self._loss(copied, train, k), self._loss(copied, self.holdout, k))
        weights = blending_weights(*({k: v[i] for k, v in before.items()} for i in (0, 1)),
                                   *({k: v[i] for k, v in after.items()} for i in (0, 1)))
        if weights is not None:
            self.weights = weights

    def _train_copy(self, model: Backbone, train: DeviceSplit, head: str, *, rng: np.random.Generator) -> None:
        lr, weight_decay, batch_size, clip_norm = self.trainer  # type: ignore[misc]
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()
        for _ in range(self.super_epoch):
            for batch in train.batches(rng.permutation(train.n_dialogues), batch_size):
                output = model(batch)
                logits = output.joint if head == "joint" else output.per_modality[head]
                loss = F.cross_entropy(logits, batch.labels, weight=self.class_weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
                optimizer.step()

    def _loss(self, model: Backbone, split: DeviceSplit, head: str) -> float:
        """Mean cross-entropy of ``head`` over ``split`` in eval mode (unweighted, as the online estimator)."""
        was_training = model.training
        model.eval()
        total = 0.0
        with torch.no_grad():
            for batch in split.eval_batches(64):
                output = model(batch)
                logits = output.joint if head == "joint" else output.per_modality[head]
                total += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
        model.train(was_training)
        return total / split.n_utterances

    def epoch_end(self, epoch: int, probs: EpochProbs) -> None:
        if self.estimator != "online" or epoch % self.super_epoch:
            return
        losses = tuple(
            {k: cross_entropy(np.asarray(scope_probs[k]), labels) for k in self.heads}
            for scope_probs, labels in (probs["train"], probs["dev"])
        )
        train_now, dev_now = losses
        if self._checkpoint is not None:
            weights = blending_weights(*self._checkpoint, train_now, dev_now)
            if weights is not None:
                self.weights = weights
        self._checkpoint = (train_now, dev_now)


def __getattr__(name: str) -> object:
    # published defaults: moved to the config layer, which checks a run's settings (issue 26)
    if name in ("G_BLENDING_SUPER_EPOCH",):
        return moved(__name__, name, ("spcl_diag.config.balancing",))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
