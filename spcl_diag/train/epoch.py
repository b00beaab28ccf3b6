"""The epoch skeleton both training loops share: setup, optimiser, epoch buffers, rows, best epoch, failures.

:func:`spcl_diag.train.loop.train_run` (one arm) and :func:`spcl_diag.train.stacked.train_stacked`
(the arms of a seed in lockstep) differ in their step only: one forward, backward and update of one
model or of a stacked one. Everything around the step is written here once, for ``A`` arms (``A = 1``
for a solo run):

* setup (:func:`prepare_run`);
* the epoch buffers (:class:`EpochBuffers`): per-utterance difficulty terms, keep masks and
  probabilities scattered on the device during the epoch, ``[A, U]``, and copied to the host once
  per epoch, when the metric functions of :mod:`spcl_diag.metrics` score them;
* the per-arm bookkeeping (:class:`ArmLedger`): the trajectories, the tidy rows (:func:`train_rows`,
  :func:`split_rows`), the callbacks, the best dev epoch and its weights, the arms that failed, and
  early stopping (``train.patience``);
* the optimiser, the learning rate of each epoch and gradient accumulation
  (:mod:`spcl_diag.train.optimisation`: ``train.optimizer``, ``train.scheduler``, ``train.grad_accumulation``).

Every option's default is the SPCL reference's training (Adam, constant rate, all epochs, one update
per batch), so that runs which do not set them train and are identified as before.

Non-finite losses, one semantics for both loops: an arm whose training loss (the back-propagated
loss, auxiliary terms included) is NaN or infinite in any step of epoch ``e`` fails at the end of that
epoch, before its evaluation: nothing of epoch ``e`` is recorded for it (no rows, no callback, no
selection), and its outcome is a :class:`~spcl_diag.errors.NonFiniteLossError` with ``epoch = e``
(raised by ``train_run``, returned in its arm's place by ``train_stacked``), which the run records
as failed, never ok. A paced arm (``random``, ``anti``) that follows a failed ``spcl`` arm of its
stack fails with it (:class:`PairedArmFailedError`, also when its own loss failed in the same epoch:
it followed the failed arm's counts). Training stops when no arm is left; a stack's
other arms train on unchanged (their parameters are disjoint from the failed arm's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from spcl_diag.config.schema import RunConfig
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.curriculum.arms import PACED_ARMS, PacingRecord
from spcl_diag.curriculum.difficulty import Difficulty
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import NonFiniteLossError
from spcl_diag.evaluation.predict import SplitPredictions
from spcl_diag.metrics.classification import classification_scores, scope_scores
from spcl_diag.metrics.disparity import disparity_ratio
from spcl_diag.models import build_backbone
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.train.balancing import carve_holdout, holdout_fraction
from spcl_diag.train.callbacks import Callback, EpochEnd, Row


@dataclass
class TrainingOutcome:
    """Everything a run directory is written from."""

    model: Backbone  # with the best dev epoch's weights
    rows: list[Row]
    best_epoch: int  # 1-based
    predictions: dict[str, SplitPredictions]  # dev and test at the best epoch
    trajectories: dict[str, np.ndarray]  # l, c, d float32 [E, U_train]; v bool [E, U_train]
    pacing: PacingRecord
    train_split: DeviceSplit
    epoch_seconds: list[float] = field(default_factory=list)
    eval_splits: dict[str, DeviceSplit] = field(default_factory=dict)  # dev and test, for post-hoc masked evaluation


class PairedArmFailedError(RuntimeError):
    """A paced arm of a stack read the counts of an spcl arm whose training failed."""


# ------------------------------------------------------------------------------------------- setup
@dataclass
class RunSetup:
    """What every run of a config starts from: its seeds, its splits on the device, the initial model."""

    seeds: RunSeeds
    splits: dict[str, DeviceSplit]  # train, dev, test
    model: Backbone  # initialised from seeds.init; the global generator is then at seeds.dropout
    class_weights: Tensor | None
    holdout: DeviceSplit | None = None  # training dialogues the balancing method holds out (G-Blend), else None


def prepare_run(config: RunConfig, dataset: ConversationDataset, device: torch.device) -> RunSetup:
    """Seed, put the splits on ``device`` and build the initial model of ``config``.

    Every arm of a seed gets the same initial weights here, and leaves the global generator
    at the same dropout seed. A balancing method that holds out training dialogues
    (:func:`~spcl_diag.train.balancing.holdout_fraction`) gets them here, drawn from the balancing
    seed, and the run trains on the rest.
    """
    seeds = RunSeeds.from_seed(config.seed)
    torch.set_float32_matmul_precision(config.train.matmul_precision)  # TF32 on CUDA when "high"
    holdout = None
    fraction = holdout_fraction(config.balancing, config.balancing_config, config.train.epochs)
    if fraction > 0:
        dataset, held = carve_holdout(dataset, fraction, rng=np.random.default_rng([seeds.balancing, 1]))
        holdout = DeviceSplit(held, "train", device)
    splits = {name: DeviceSplit(dataset, name, device) for name in ("train", "dev", "test")}
    for name, split in splits.items():
        if split.n_dialogues == 0:
            raise ValueError(f"{dataset.name}: the {name} split has no dialogues.")
    torch.manual_seed(seeds.init)
    model = build_backbone(
        config.backbone,
        modalities=config.modalities,
        dims=dataset.dims,
        n_classes=dataset.n_classes,
        n_speakers=dataset.n_speakers,
        overrides=config.model,
    ).to(device)
    torch.manual_seed(seeds.dropout)
    weight = loss_class_weights(splits["train"].labels_host, dataset.n_classes, config.train.class_weights, device=device)
    return RunSetup(seeds=seeds, splits=splits, model=model, class_weights=weight, holdout=holdout)


def loss_class_weights(
    labels: np.ndarray, n_classes: int, kind: str, *, device: torch.device | str = "cpu"
) -> Tensor | None:
    r"""``[C]`` weights of the joint loss: ``None`` for ``"none"``, inverse frequency for ``"balanced"``.

    .. math:: w_c = \frac{N}{C \, n_c}

    over the :math:`N` training utterances, :math:`n_c` of class :math:`c` (scikit-learn's
    ``compute_class_weight("balanced")``, the class-weight flag of the MERC codebases); a
    class absent from train gets weight 0. The weights average to 1 over the training
    utterances, so the loss keeps its scale and its normalisation (``pacing.normalisation``).

    Examples
    --------
    >>> loss_class_weights(np.array([0, 0, 0, 1]), 2, "balanced")
    tensor([0.6667, 2.0000])
    """
    if kind not in ("none", "balanced"):
        raise ValueError(f"class weights must be 'none' or 'balanced'; got {kind!r}.")
    if kind == "none":
        return None
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.divide(len(labels), n_classes * counts, out=np.zeros(n_classes), where=counts > 0)
    return torch.as_tensor(w, dtype=torch.float32, device=device)


# ---------------------------------------------------------------------------------- epoch buffers
@dataclass(frozen=True)
class HostEpoch:
    """One epoch of ``A`` arms on the host: what :class:`EpochBuffers` accumulated."""

    terms: dict[str, np.ndarray]  # l, c, d float32 [A, U]; v bool [A, U]
    probs: dict[str, np.ndarray]  # scope -> [A, U, C] training probabilities
    grad_norms: np.ndarray  # [G, A] mean gradient norm per parameter group over the epoch's updates
    non_finite: np.ndarray  # [A] bool: a NaN or infinite loss in some step
    seconds: float  # each arm's share of the epoch's wall time


class EpochBuffers:
    """An epoch's per-utterance quantities of ``A`` arms, on the device, indexed by the utterance's train row.

    A solo run is ``A = 1``: its ``[N]`` terms broadcast into the ``[1, N]`` slice of the buffers.
    """

    def __init__(self, arms: int, n_utterances: int, n_classes: int, scopes: Sequence[str], n_groups: int,
                 device: torch.device) -> None:
        self.terms = {key: torch.zeros(arms, n_utterances, device=device) for key in "lcd"}
        self.kept = torch.zeros(arms, n_utterances, dtype=torch.bool, device=device)
        self.probs = {s: torch.zeros(arms, n_utterances, n_classes, device=device) for s in scopes}
        self.grad_sums = torch.zeros(n_groups, arms, device=device)
        self.non_finite = torch.zeros(arms, dtype=torch.bool, device=device)
        self.updates = 0

    def add_loss(self, loss: Tensor) -> None:
        """Note a NaN or infinite ``[]`` / ``[A]`` loss, on the device (read once, at :meth:`host`)."""
        self.non_finite.logical_or_(~torch.isfinite(loss.detach()))

    def add_grad_norms(self, norms: Tensor) -> None:
        """Add one update's ``[G]`` / ``[G, A]`` gradient norms per parameter group (before clipping)."""
        self.grad_sums += norms if norms.dim() == 2 else norms.unsqueeze(-1)
        self.updates += 1

    def add_batch(self, index: Tensor, difficulty: Difficulty, keep: Tensor, output: ModelOutput) -> None:
        """Scatter a batch's terms, keep mask and probabilities (``[N]`` or ``[A, N]``) into the buffers."""
        self.terms["l"][:, index] = difficulty.utterance
        self.terms["c"][:, index] = difficulty.conversation
        self.terms["d"][:, index] = difficulty.difficulty
        self.kept[:, index] = keep
        with torch.no_grad():
            self.probs["joint"][:, index] = output.joint.softmax(-1)
            for m, logits in output.per_modality.items():
                self.probs[m][:, index] = logits.softmax(-1)

    def host(self, device: torch.device, started: float) -> HostEpoch:
        """Time the epoch's work since ``started`` (``time.perf_counter``), then copy everything to the host once."""
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # time the epoch's work, not its launch
        seconds = (time.perf_counter() - started) / self.kept.shape[0]  # each arm's share of a stacked epoch
        terms = {key: buf.cpu().numpy() for key, buf in (*self.terms.items(), ("v", self.kept))}
        return HostEpoch(
            terms=terms,
            probs={s: p.cpu().numpy() for s, p in self.probs.items()},
            grad_norms=(self.grad_sums / self.updates).cpu().numpy(),
            non_finite=self.non_finite.cpu().numpy(),
            seconds=seconds,
        )


# ----------------------------------------------------------------------------------------- ledger
class ArmLedger:
    """Per arm of a run (``A = 1``) or of a stack: trajectories, rows, best dev epoch, failures, early stops.

    Early stopping (``train.patience = P > 0``): an arm stops after the first epoch that ends ``P``
    epochs without a better dev selection score than its best, and keeps its best epoch's weights
    as always. A paced arm (``random``, ``anti``) ignores its own patience and trains exactly its
    spcl twin's epochs, so that a pair stays paired batch by batch: it stops when its twin's pacing
    record ends (a solo run, or a stack without the spcl arm), or with the spcl arm of its stack.
    A run that stopped early holds its trained epochs only (rows, trajectories, pacing record).

    Parameters
    ----------
    arms
        The arms, in the order of the stacked dimension.
    config
        The (shared) resolved run configuration.
    n_utterances
        Training utterances ``U``.
    record_epochs
        Arm index -> the epochs of the pacing record it replays (paced arms without a live spcl arm).
    """

    def __init__(self, arms: Sequence[str], config: RunConfig, n_utterances: int,
                 record_epochs: dict[int, int] | None = None) -> None:
        self.arms = list(arms)
        self.config = config
        epochs = config.train.epochs
        self.trajectories = [empty_trajectories(epochs, n_utterances) for _ in self.arms]
        self.rows: list[list[Row]] = [[] for _ in self.arms]
        self.best_score = np.full(len(self.arms), -np.inf)
        self.best_epoch = np.zeros(len(self.arms), np.int64)
        self.best_state: list[dict[str, Tensor]] = [{} for _ in self.arms]
        self.best_predictions: list[dict[str, SplitPredictions]] = [{} for _ in self.arms]
        self.scores: dict[int, float] = {}  # arm -> its dev selection score, for the arms recorded this epoch
        self.trained = np.zeros(len(self.arms), np.int64)  # epochs recorded per arm
        self.failures: dict[int, BaseException] = {}
        self.stopped: set[int] = set()
        self.epoch_seconds: list[float] = []
        self.record_epochs = dict(record_epochs or {})
        self._spcl = self.arms.index("spcl") if "spcl" in self.arms else None

    @property
    def live(self) -> list[int]:
        """Indices of the arms still training (neither failed nor stopped)."""
        return [a for a in range(len(self.arms)) if a not in self.failures and a not in self.stopped]

    def check_finite(self, host: HostEpoch, epoch: int) -> None:
        """Fail every live arm whose loss was non-finite in 0-based ``epoch``, and the paced arms of a failed spcl arm."""
        self.epoch_seconds.append(host.seconds)
        self.scores = {}
        e, train = epoch + 1, self.config.train
        live = self.live
        for a in np.flatnonzero(host.non_finite).tolist():
            if a in live:
                self.failures[a] = NonFiniteLossError(
                    f"the training loss became NaN or infinite in epoch {e} of {train.epochs} (train.lr={train.lr:g}); "
                    "the run stopped. Lower train.lr or check the data and the model settings.",
                    epoch=e,
                )
        spcl = self._spcl
        if spcl is not None and spcl in self.failures:  # the paced arms followed a failed arm's counts this epoch
            for a in live:
                if self.arms[a] in PACED_ARMS:
                    self.failures[a] = PairedArmFailedError(f"the paired spcl arm failed ({self.failures[spcl]})")

    def record(
        self, a: int, epoch: int, host: HostEpoch, *, train: DeviceSplit, dataset: ConversationDataset,
        modalities: str, lam: float, kept: np.ndarray, group_names: Sequence[str],
        extra: dict[tuple[str, str], float], evaluated: dict[str, SplitPredictions],
        callbacks: Sequence[Callback], state: Callable[[], dict[str, Tensor]],
    ) -> None:
        """Arm ``a``'s epoch: trajectories, train and dev/test rows, callbacks, and the best-epoch selection.

        ``kept`` holds the utterances the arm kept in each batch; ``state`` returns a copy of the
        arm's weights, taken only when this epoch is its best so far.
        """
        e = epoch + 1
        trajectories = self.trajectories[a]
        for key in "lcdv":
            trajectories[key][epoch] = host.terms[key][a]
        first_row = len(self.rows[a])
        self.rows[a] += train_rows(
            e, train, dataset, {s: p[a] for s, p in host.probs.items()}, modalities=modalities, lam=lam, kept=kept,
            grad_norms=dict(zip(group_names, host.grad_norms[:, a])), seconds=host.seconds, extra=extra,
        )
        for name, preds in evaluated.items():
            self.rows[a] += split_rows(e, name, preds.probs, preds.labels, modalities, dataset.label_names)
        for callback in callbacks:
            callback.on_epoch_end(EpochEnd(epoch=e, rows=self.rows[a][first_row:], difficulty=trajectories["d"][epoch],
                                           kept=trajectories["v"][epoch]))
        score = selection_score(evaluated["dev"])
        self.scores[a], self.trained[a] = score, e
        if score > self.best_score[a]:
            self.best_score[a], self.best_epoch[a] = score, e
            self.best_state[a] = state()
            self.best_predictions[a] = evaluated

    def stop_early(self, epoch: int) -> None:
        """After 0-based ``epoch`` is recorded: stop the arms that ran out of patience, and their paced arms."""
        e, patience = epoch + 1, self.config.train.patience
        for a in self.live:
            if self.arms[a] not in PACED_ARMS and patience and e - self.best_epoch[a] >= patience:
                self.stopped.add(a)
        for a in self.live:
            if self.arms[a] in PACED_ARMS:
                twin_stopped = self._spcl is not None and self._spcl in self.stopped
                if twin_stopped or e >= self.record_epochs.get(a, self.config.train.epochs):
                    self.stopped.add(a)

    def outcome(self, a: int, model: Backbone, pacing: PacingRecord, setup: RunSetup) -> TrainingOutcome:
        """Arm ``a``'s :class:`TrainingOutcome` over its trained epochs; ``model`` holds its best epoch's weights."""
        n = int(self.trained[a])
        return TrainingOutcome(
            model=model,
            rows=self.rows[a],
            best_epoch=int(self.best_epoch[a]),
            predictions=self.best_predictions[a],
            trajectories={key: values[:n] for key, values in self.trajectories[a].items()},
            pacing=PacingRecord(kept=pacing.kept[:n], size=pacing.size[:n]),
            train_split=setup.splits["train"],
            epoch_seconds=self.epoch_seconds[:n],
            eval_splits={name: setup.splits[name] for name in ("dev", "test")},
        )


def empty_trajectories(epochs: int, n_utterances: int) -> dict[str, np.ndarray]:
    """Host arrays of the difficulty trajectory: ``l``, ``c``, ``d`` float32 and ``v`` bool, ``[E, U]``."""
    return {
        **{key: np.zeros((epochs, n_utterances), np.float32) for key in "lcd"},
        "v": np.zeros((epochs, n_utterances), bool),
    }


def train_rows(
    epoch: int, train: DeviceSplit, dataset: ConversationDataset, probs: dict[str, np.ndarray], *, modalities: str,
    lam: float, kept: np.ndarray, grad_norms: dict[str, float], seconds: float,
    extra: dict[tuple[str, str], float] | None = None,
) -> list[Row]:
    """The train rows of an epoch: scores, lambda, the kept fraction, gradient norms per group, wall time.

    ``kept`` holds the utterances kept in each batch; ``extra`` maps (metric, scope) to a
    balancing method's own rows.
    """
    rows = split_rows(epoch, "train", probs, train.labels_host, modalities, dataset.label_names)
    rows += [(epoch, "train", "joint", "lambda", lam),
             (epoch, "train", "joint", "kept_fraction", kept.sum() / train.n_utterances)]
    rows += [(epoch, "train", group, "grad_norm", float(value)) for group, value in grad_norms.items()]
    rows += [(epoch, "train", scope, metric, value) for (metric, scope), value in (extra or {}).items()]
    rows.append((epoch, "train", "joint", "wall_seconds", seconds))
    return rows


def selection_score(dev: SplitPredictions) -> float:
    """The dev score that selects the epoch whose weights a run keeps: weighted F1 of the joint prediction."""
    return classification_scores(dev.probs["joint"], dev.labels)["wf1"]


def split_rows(
    epoch: int, split: str, probs: dict[str, np.ndarray], labels: np.ndarray, modalities: str,
    class_names: Sequence[str],
) -> list[Row]:
    """Tidy rows of the classification and per-class scores per scope, the disparity ratio per modality."""
    rows: list[Row] = []
    for scope, scores in scope_scores(probs, labels, class_names).items():
        rows += [(epoch, split, scope, metric, value) for metric, value in scores.items()]
    if len(modalities) > 1:
        ratios = disparity_ratio({m: probs[m] for m in modalities}, labels)
        rows += [(epoch, split, m, "disparity_ratio", value) for m, value in ratios.items()]
    return rows
