"""The training loop: one run of one arm, instrumented, with dev-based model selection.

Reads top to bottom: setup, epochs (train with the curriculum, evaluate dev and test,
log, grow lambda, keep the best dev epoch, set the next learning rate, stop early), then restore
the best weights. Everything but the
step is the epoch skeleton this loop shares with its stacked twin (:mod:`spcl_diag.train.epoch`:
setup, optimiser, epoch buffers, rows, best epoch, the handling of a non-finite loss).

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
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.arms import PACED_ARMS, PacingRecord, selection_loss
from spcl_diag.curriculum.self_paced import SelfPacedCurriculum
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.evaluation.predict import SplitPredictions, evaluate
from spcl_diag.train.balancing import make_balancer
from spcl_diag.train.callbacks import Callback, Row
from spcl_diag.train.epoch import (
    ArmLedger,
    EpochBuffers,
    RunSetup,
    TrainingOutcome,
    loss_class_weights,
    prepare_run,
    split_rows,
)
from spcl_diag.train.optimisation import Accumulation, LearningRates, has_fused_adam, make_optimizer

__all__ = [  # the skeleton's names stay importable from here, where runs/ and researchers' code import them
    "Row",
    "RunSetup",
    "SplitPredictions",
    "TrainingOutcome",
    "evaluate",
    "has_fused_adam",
    "loss_class_weights",
    "prepare_run",
    "split_rows",
    "train_run",
]


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

    Raises
    ------
    NonFiniteLossError
        The training loss became NaN or infinite (:mod:`spcl_diag.train.epoch` says when).
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
    replayed = {0: pacing.kept.shape[0]} if config.curriculum in PACED_ARMS and pacing is not None else None
    ledger = ArmLedger([config.curriculum], config, train.n_utterances, record_epochs=replayed)  # its twin's epochs
    rates = LearningRates(config, 1)
    accumulation = Accumulation(config.train.grad_accumulation, -(-train.n_dialogues // config.train.batch_size))

    # ---------------------------------------------------------------- epochs
    for epoch in tqdm(range(config.train.epochs), desc=f"{config.curriculum} seed {config.seed}",
                      disable=not progress, leave=False):
        started = time.perf_counter()
        rates.apply(optimizer)
        balancer.epoch_start(model, train, epoch=epoch)
        model.train()
        lam = curriculum.value
        buffers = EpochBuffers(1, train.n_utterances, dataset.n_classes, scopes, len(group_names), device)
        for i, batch in enumerate(train.batches(order_rng.permutation(train.n_dialogues), config.train.batch_size)):
            output = model(batch)
            selected = curriculum.step(
                output.joint, output.per_modality, batch.labels, batch.dialogue, n_dialogues=batch.n_dialogues
            )
            reduce = functools.partial(selection_loss, keep=selected.keep, normalisation=config.pacing.normalisation)
            loss = balancer.loss(selected.loss, output, batch, reduce=reduce, epoch=epoch)
            if output.auxiliary_loss is not None:
                loss = loss + output.auxiliary_loss
            buffers.add_loss(loss)
            if accumulation.starts(i):
                optimizer.zero_grad(set_to_none=True)
            accumulation.scale(loss, i).backward()
            if accumulation.updates(i):
                buffers.add_grad_norms(_group_grad_norms(groups, group_names))
                balancer.before_clip(model, output, batch, epoch=epoch)
                torch.nn.utils.clip_grad_norm_(trained, config.train.clip_norm)
                balancer.after_clip(model, output, batch, epoch=epoch)
                optimizer.step()
            buffers.add_batch(batch.utterance_index, selected.difficulty, selected.keep, output)
        host = buffers.host(device, started)  # one host copy per epoch of everything the steps accumulated
        ledger.check_finite(host, epoch)
        if ledger.failures:
            raise ledger.failures[0]
        extra = {key: float(v) for key, v in balancer.epoch_rows().items()}

        # ------------------------------------------------------------ evaluation
        evaluated = {name: evaluate(model, splits[name], config.train.eval_batch_size) for name in ("dev", "test")}
        curriculum.epoch_end()  # lambda grows after the dev evaluation, as in the reference
        train_probs = {s: p[0] for s, p in host.probs.items()}
        balancer.epoch_end(epoch, {"train": (train_probs, train.labels_host), "dev": (evaluated["dev"].probs, evaluated["dev"].labels)})

        # ------------------------------------------------- rows, callbacks, selection
        ledger.record(
            0, epoch, host, train=train, dataset=dataset, modalities=model.modalities, lam=lam,
            kept=curriculum.kept_counts(epoch), group_names=group_names, extra=extra, evaluated=evaluated,
            callbacks=callbacks, state=lambda: {k: v.detach().clone() for k, v in model.state_dict().items()},
        )
        rates.epoch_end(epoch, ledger.scores)
        ledger.stop_early(epoch)
        if not ledger.live:
            break

    model.load_state_dict(ledger.best_state[0])
    return ledger.outcome(0, model, curriculum.pacing_record(), setup)


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
