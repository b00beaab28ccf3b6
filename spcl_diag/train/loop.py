"""The training loop: one run of one arm, instrumented, with dev-based model selection.

Reads top to bottom: setup, epochs (train with the curriculum, evaluate dev and test,
log, grow lambda, keep the best dev epoch), then restore the best weights.

Per step everything stays on the device; per-utterance quantities (difficulty terms,
selection, probabilities) are scattered into epoch buffers and copied to the host once
per epoch, where the metric functions of :mod:`spcl_diag.metrics` score them.

Only the joint loss (plus a backbone's auxiliary loss, if any) is back-propagated; the
per-modality heads are scored, never trained on their own (SPCL reference behaviour),
unless a balancing method adds terms through its hooks (:mod:`spcl_diag.train.balancing.base`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from spcl_diag.config.schema import RunConfig
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.curriculum.arms import PacingRecord, selection_loss
from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import NonFiniteLossError
from spcl_diag.evaluation.predict import SplitPredictions, evaluate
from spcl_diag.metrics.classification import classification_scores, scope_scores
from spcl_diag.metrics.disparity import disparity_ratio
from spcl_diag.models import build_backbone
from spcl_diag.models.base import Backbone
from spcl_diag.train.balancing import carve_holdout, holdout_fraction, make_balancer
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


def train_run(
    config: RunConfig,
    dataset: ConversationDataset,
    *,
    device: torch.device,
    pacing: PacingRecord | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
) -> TrainingOutcome:
    """Train one run of ``config`` on ``dataset`` and return its instrumentation.

    Parameters
    ----------
    config
        A resolved run configuration (``config.resolved()``).
    dataset
        The run's data, already restricted to ``config.modalities``.
    device
        Where the data and the model live.
    pacing
        The paired ``spcl`` run's per-batch counts, for the ``random`` and ``anti`` arms.
    progress
        Show a progress bar over epochs.
    callbacks
        Called at the end of every epoch with its rows and difficulty scores
        (:mod:`spcl_diag.train.callbacks`: TensorBoard, W&B, MLflow, or your own).
    """
    # ----------------------------------------------------------------- setup
    setup = prepare_run(config, dataset, device)
    seeds, splits, train, model, weight = setup.seeds, setup.splits, setup.splits["train"], setup.model, setup.class_weights
    curriculum = SelfPacedCurriculum(  # the SPCL rule, shared with researchers' own loops
        config.curriculum,
        lambda0=config.pacing.lambda0,  # type: ignore[arg-type]  # resolved: never None
        growth=config.pacing.growth,  # type: ignore[arg-type]
        cap=config.pacing.cap,
        normalisation=config.pacing.normalisation,
        pacing=pacing,
        generator=torch.Generator(device=device).manual_seed(seeds.selection),
        class_weights=weight,  # the loss only: the difficulty keeps the unweighted l_j
    )
    balancer = make_balancer(
        config.balancing, model=model, config=config.balancing_config, seed=seeds.balancing,
        epochs=config.train.epochs, class_weights=weight, train_config=config.train, holdout=setup.holdout,
    )
    trained = [*model.parameters(), *balancer.parameters()]  # a method's own heads train with the model
    optimizer = make_optimizer(trained, config, device)
    order_rng = np.random.default_rng(seeds.order)
    groups = model.parameter_groups()
    group_names = [g for g, params in groups.items() if params]
    scopes = ["joint", *model.modalities]

    E, U = config.train.epochs, train.n_utterances
    n_batches = -(-train.n_dialogues // config.train.batch_size)
    trajectories = empty_trajectories(E, U)
    kept_counts = np.zeros((E, n_batches), np.int64)
    rows: list[Row] = []
    best = {"wf1": -np.inf, "epoch": 0}
    best_state: dict[str, Tensor] = {}
    best_predictions: dict[str, SplitPredictions] = {}
    epoch_seconds: list[float] = []

    # ---------------------------------------------------------------- epochs
    for epoch in tqdm(range(E), desc=f"{config.curriculum} seed {config.seed}", disable=not progress, leave=False):
        started = time.perf_counter()
        balancer.epoch_start(model, train, epoch=epoch)
        model.train()
        lam = curriculum.value
        # Epoch buffers on the device, indexed by the utterance's row in the train split.
        buf_l, buf_c, buf_d = (torch.zeros(U, device=device) for _ in range(3))
        buf_v = torch.zeros(U, dtype=torch.bool, device=device)
        buf_probs = {s: torch.zeros(U, dataset.n_classes, device=device) for s in scopes}
        grad_sums = torch.zeros(len(group_names), device=device)
        non_finite = torch.zeros((), dtype=torch.bool, device=device)  # any NaN/inf loss this epoch
        order = order_rng.permutation(train.n_dialogues)
        for batch in train.batches(order, config.train.batch_size):
            output = model(batch)
            selected = curriculum.step(
                output.joint, output.per_modality, batch.labels, batch.dialogue, n_dialogues=batch.n_dialogues
            )
            difficulty, keep, loss = selected.difficulty, selected.keep, selected.loss
            reduce = functools.partial(selection_loss, keep=keep, normalisation=config.pacing.normalisation)
            loss = balancer.loss(loss, output, batch, reduce=reduce, epoch=epoch)
            if output.auxiliary_loss is not None:
                loss = loss + output.auxiliary_loss
            non_finite.logical_or_(~torch.isfinite(loss.detach()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_sums += _group_grad_norms(groups, group_names)
            balancer.before_clip(model, output, batch, epoch=epoch)
            torch.nn.utils.clip_grad_norm_(trained, config.train.clip_norm)
            balancer.after_clip(model, output, batch, epoch=epoch)
            optimizer.step()

            idx = batch.utterance_index
            buf_l[idx], buf_c[idx], buf_d[idx] = difficulty.utterance, difficulty.conversation, difficulty.difficulty
            buf_v[idx] = keep
            with torch.no_grad():
                buf_probs["joint"][idx] = output.joint.softmax(-1)
                for m, logits in output.per_modality.items():
                    buf_probs[m][idx] = logits.softmax(-1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # time the epoch's work, not its launch
        epoch_seconds.append(time.perf_counter() - started)

        # One host copy per epoch of everything the step accumulated.
        for key, buf in zip("lcdv", (buf_l, buf_c, buf_d, buf_v)):
            trajectories[key][epoch] = buf.cpu().numpy()
        kept_counts[epoch] = curriculum.kept_counts(epoch)
        train_probs = {s: p.cpu().numpy() for s, p in buf_probs.items()}
        grad_means = (grad_sums / n_batches).cpu().numpy()

        e = epoch + 1
        if bool(non_finite):  # read with this epoch's host copies: no extra per-step sync
            raise NonFiniteLossError(
                f"the training loss became NaN or infinite in epoch {e} of {E} (train.lr={config.train.lr:g}); "
                "the run stopped. Lower train.lr or check the data and the model settings.",
                epoch=e,
            )
        first_row = len(rows)
        rows += train_rows(
            e, train, dataset, train_probs, modalities=model.modalities, lam=lam, kept=kept_counts[epoch],
            grad_norms=dict(zip(group_names, grad_means)), seconds=epoch_seconds[-1],
            extra={key: float(v) for key, v in balancer.epoch_rows().items()},
        )

        # ------------------------------------------------------------ evaluation
        evaluated = {name: evaluate(model, splits[name], config.train.eval_batch_size) for name in ("dev", "test")}
        for name, preds in evaluated.items():
            rows += split_rows(e, name, preds.probs, preds.labels, model.modalities, dataset.label_names)
        curriculum.epoch_end()  # lambda grows after the dev evaluation, as in the reference
        balancer.epoch_end(epoch, {"train": (train_probs, train.labels_host), "dev": (evaluated["dev"].probs, evaluated["dev"].labels)})
        for callback in callbacks:
            callback.on_epoch_end(
                EpochEnd(epoch=e, rows=rows[first_row:], difficulty=trajectories["d"][epoch], kept=trajectories["v"][epoch])
            )

        # ------------------------------------------------------------- selection
        dev_wf1 = selection_score(evaluated["dev"])
        if dev_wf1 > best["wf1"]:
            best = {"wf1": dev_wf1, "epoch": e}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_predictions = evaluated

    model.load_state_dict(best_state)
    return TrainingOutcome(
        model=model,
        rows=rows,
        best_epoch=int(best["epoch"]),
        predictions=best_predictions,
        trajectories=trajectories,
        pacing=curriculum.pacing_record(),
        train_split=train,
        epoch_seconds=epoch_seconds,
        eval_splits={name: splits[name] for name in ("dev", "test")},
    )


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


def make_optimizer(params: Iterable[Tensor], config: RunConfig, device: torch.device) -> torch.optim.Adam:
    """Adam with the run's learning rate and weight decay, fused where torch has it."""
    return torch.optim.Adam(
        params, lr=config.train.lr, weight_decay=config.train.weight_decay, fused=has_fused_adam(device)
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


def has_fused_adam(device: torch.device) -> bool:
    """Whether torch has the single-kernel Adam update for ``device``: CUDA, and CPU from torch 2.4.

    One pass over parameters, gradients and moments instead of about ten per parameter: on two
    CPU cores it updates Ada2I's 19 M parameters in 19 ms instead of 100 ms (torch 2.13), the
    same values to 1.5e-8 after 23 steps.
    """
    return device.type == "cuda" or (device.type == "cpu" and torch.__version__ >= "2.4")


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


def _group_grad_norms(groups: dict[str, list[torch.nn.Parameter]], names: list[str]) -> Tensor:
    """``[G]`` L2 norm of the gradient of each parameter group (before clipping)."""
    norms = []
    for name in names:
        grads = [p.grad for p in groups[name] if p.grad is not None]
        if grads:
            norms.append(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
        else:
            norms.append(torch.zeros((), device=groups[name][0].device))
    return torch.stack(norms)
