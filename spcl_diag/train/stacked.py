"""The arms of one seed trained in lockstep as one stacked model.

The arms of a seed (``none``, ``spcl``, ``random``, ``anti`` and the ablations) share by
design their initial weights, batch order and dropout masks; they differ only in which
utterances enter the loss. :func:`train_stacked` trains them together: their parameters are
stacked along a leading arm dimension (:class:`~spcl_diag.models.stacked.StackedBackbone`),
each step runs one forward and one backward pass for every arm, every arm gets its own keep
mask and loss (:class:`~spcl_diag.curriculum.stacked.StackedCurriculum`), its own gradient
norms and clipping, and one optimiser step (fused Adam by default) updates all arms. Everything
around the step (setup, optimiser, learning-rate schedule, gradient accumulation, epoch buffers,
rows, best epoch, early stopping, non-finite losses) is the solo loop's, :mod:`spcl_diag.train.epoch`;
an arm's own learning rate (``train.scheduler = "plateau"``) scales its update (:func:`step_arms_`). Each arm's outcome is the
:class:`~spcl_diag.train.loop.TrainingOutcome` its solo run would give (equal up to float
rounding: the stacked products sum in another order), and is written to the same run
directory.

What the stack changes: operators are issued once per step for all arms, not once per arm,
which is what bounds a small model's step on a GPU (kernel launches). What it keeps: every
arm's selection, and the stream of dropout masks, which a stacked forward pass draws once
(``torch.func.vmap(..., randomness="same")``) exactly as each solo run draws it.

Balancing: every arm gets its own balancer (:func:`arm_balancers`: built as the solo run builds
it, with the run's seed, so its noise, its auxiliary heads' initialisation, its prototype subsets
and G-Blend's held-out split are drawn as the solo run draws them), called with that arm's
outputs (features included) and editing that arm's slice of the stacked gradients
(:class:`ArmParameter`). A balancer's own parameters (uni-aux's heads) train in the fused Adam
step and are clipped with their arm (:func:`clip_arms_`); its ``epoch_start`` gets the arm's solo
model (:func:`arm_model`: PMR's prototype pass, G-Blend's copies). A method stacks when its spec
says so (``MethodSpec.stacks``: ``ogm-ge``, ``ada2i``, ``uni-aux``, ``g-blending``, ``pmr``); the
others (``agm``, ``mmpareto``) train one at a time with the spec's reason.

Limits: the arms must differ in their curriculum only, and the backbone must run under ``vmap``
(:func:`~spcl_diag.models.stacked.check_stackable`).
A ``random`` or ``anti`` arm without the ``spcl`` arm in its stack replays the spcl run's
recorded pacing. An arm whose loss turns non-finite fails alone; a paced arm that read the
counts of a failed ``spcl`` arm fails with it. An arm that stops early (``train.patience``) is no
longer recorded while the others train on; a paced arm stops with its spcl arm.

Examples
--------
The random arm keeps as many utterances per epoch as the spcl arm beside it:

```python
import numpy as np
import torch

from spcl_diag import RunConfig
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.train import train_stacked

small = {"train.epochs": 2, "data.synthetic.n_dialogues": 12, "model.hidden_dim": 8}
base = RunConfig().with_overrides(small).resolved()
data = resolve_dataset(base.dataset, base.data, modalities=base.modalities, seed=0)
arms = [base.paired(arm) for arm in ("none", "spcl", "random")]
outcomes = train_stacked(arms, data, device=torch.device("cpu"))
sorted(outcomes)  # ['none', 'random', 'spcl']
np.array_equal(outcomes["random"].pacing.kept, outcomes["spcl"].pacing.kept)  # True
```
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.arms import PACED_ARMS, PacingRecord, selection_loss
from spcl_diag.curriculum.stacked import StackedCurriculum
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.evaluation.predict import SplitPredictions, evaluate
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.stacked import StackedBackbone, check_stackable
from spcl_diag.train.balancing import METHODS, Balancer, make_balancer
from spcl_diag.train.callbacks import Callback
from spcl_diag.train.epoch import (
    ArmLedger,
    EpochBuffers,
    PairedArmFailedError,
    TrainingOutcome,
    prepare_run,
)
from spcl_diag.train.optimisation import Accumulation, LearningRates, make_optimizer

__all__ = [  # PairedArmFailedError is defined with the skeleton and stays importable from here
    "ArmParameter", "PairedArmFailedError", "arm_balancers", "arm_model", "arm_output", "clip_arms_", "pairing_problems",
    "stack_problems", "stacked_evaluate", "step_arms_", "train_stacked", "unstackable_balancing",
]


class ArmParameter:
    """One arm's slice of a stacked parameter, as a balancing method sees a parameter: ``.grad`` is a view.

    Examples
    --------
    >>> stacked = torch.zeros(2, 3, requires_grad=True)
    >>> stacked.grad = torch.ones(2, 3)
    >>> _ = ArmParameter(stacked, 1).grad.mul_(5)
    >>> stacked.grad[:, 0]
    tensor([1., 5.])
    """

    def __init__(self, stacked: Tensor, arm: int):
        self.stacked, self.arm = stacked, arm

    @property
    def grad(self) -> Tensor | None:
        return None if self.stacked.grad is None else self.stacked.grad[self.arm]

    def dim(self) -> int:
        return self.stacked.dim() - 1


def arm_output(output: ModelOutput, arm: int) -> ModelOutput:
    """Arm ``arm``'s part of a stacked output (``joint``, ``per_modality`` and ``features``)."""
    return ModelOutput(joint=output.joint[arm], per_modality={m: z[arm] for m, z in output.per_modality.items()},
                       features={m: h[arm] for m, h in output.features.items()})


def arm_balancers(
    config: RunConfig, model: StackedBackbone, seed: int, class_weights: Tensor | None, holdout: DeviceSplit | None,
) -> list[Balancer]:
    """One balancer per arm, built on the template (at the solo run's initial weights) as the solo run builds it.

    Each edits that arm's slices of the stacked gradients (:class:`ArmParameter`) and owns its
    parameters (uni-aux's heads), prototypes, weights and random generators, all seeded as the
    solo run seeds them, so every arm draws what its solo run draws.
    """
    names = {id(p): name for name, p in model.template.named_parameters()}
    return [
        make_balancer(config.balancing, model=model.template, config=config.balancing_config, seed=seed,
                      epochs=config.train.epochs, class_weights=class_weights, train_config=config.train,
                      holdout=holdout,
                      view=functools.partial(lambda p, a: ArmParameter(model.params[names[id(p)]], a), a=a))
        for a in range(model.copies)
    ]


def clip_arms_(model: StackedBackbone, extra: Sequence[Sequence[Tensor]], max_norm: float, norms: Tensor) -> None:
    r"""Clip each arm's gradient, the stacked model's slice and the arm's balancer parameters together.

    As the solo loop's ``clip_grad_norm_`` over ``[*model.parameters(), *balancer.parameters()]``:
    arm :math:`a`'s norm is :math:`(\sum_G \|g_{G,a}\|^2 + \|g_{\text{extra},a}\|^2)^{1/2}` with
    ``norms`` the ``[G, A]`` :meth:`~spcl_diag.models.stacked.StackedBackbone.grad_norms`.
    """
    if not any(extra):
        model.clip_grads_(max_norm, norms)
        return
    device = norms.device
    own = torch.stack([  # [A] norm of each arm's balancer parameters' gradients
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None]))
        if any(p.grad is not None for p in params) else torch.zeros((), device=device)
        for params in extra
    ])
    total = torch.cat([norms, own.unsqueeze(0)])  # [G + 1, A]
    model.clip_grads_(max_norm, total)
    coefficient = (max_norm / (torch.linalg.vector_norm(total, dim=0) + 1e-6)).clamp_max(1.0)  # as clip_grads_
    for a, params in enumerate(extra):
        for p in params:
            if p.grad is not None:
                p.grad.mul_(coefficient[a])


def step_arms_(
    optimizer: torch.optim.Optimizer, model: StackedBackbone, extra: Sequence[Sequence[Tensor]],
    factors: np.ndarray | None,
) -> None:
    r"""One optimiser step of every arm, each arm's update scaled by its factor where the arms' rates differ.

    ``factors`` (``[A]``, :meth:`~spcl_diag.train.optimisation.LearningRates.factors`) is each arm's learning
    rate over the optimiser's; the update :math:`\Delta_a` of arm :math:`a` becomes :math:`f_a \Delta_a`,
    which is the update at the arm's own rate (the optimisers' updates are linear in the rate). With
    ``None`` (every arm at the optimiser's rate) it is the plain step.
    """
    if factors is None:
        optimizer.step()
        return
    stacked = model.parameters()
    before = [p.detach().clone() for p in stacked]
    before_extra = [[p.detach().clone() for p in params] for params in extra]
    optimizer.step()
    scale = torch.as_tensor(factors, dtype=stacked[0].dtype, device=stacked[0].device)
    with torch.no_grad():
        for p, old in zip(stacked, before):
            p.copy_(old + scale.view(-1, *[1] * (p.dim() - 1)) * (p - old))
        for a, (params, olds) in enumerate(zip(extra, before_extra)):
            for p, old in zip(params, olds):
                p.copy_(old + float(factors[a]) * (p - old))


def arm_model(model: StackedBackbone, balancer: Balancer, arm: int) -> Backbone:
    """What ``balancer.epoch_start`` sees: arm ``arm``'s solo model where the method reads the model, else the template."""
    if type(balancer).epoch_start is Balancer.epoch_start:
        return model.template  # the hook does nothing: no copy
    solo = model.unstack(model.state(arm))
    solo.train(model.training)
    return solo


def stack_problems(configs: Sequence[RunConfig]) -> list[str]:
    """Why ``configs`` cannot train as one stack (empty when they can): :func:`pairing_problems` and the balancing."""
    balancing = unstackable_balancing(configs)
    return [*pairing_problems(configs), *([balancing] if balancing else [])]


def pairing_problems(configs: Sequence[RunConfig]) -> list[str]:
    """Why ``configs`` are not the arms of one seed: none, a repeated arm, or runs that differ beyond their arm."""
    if not configs:
        return ["a stack needs at least one run"]
    problems = []
    arms = [c.curriculum for c in configs]
    if len(set(arms)) != len(arms):
        problems.append(f"every arm of a stack must differ; got {', '.join(arms)}")
    twins = {c.paired("spcl").run_id() for c in configs}
    if len(twins) > 1:
        problems.append("the runs of a stack may differ in their curriculum only (same seed, data, backbone and settings)")
    return problems


def unstackable_balancing(configs: Sequence[RunConfig]) -> str | None:
    """Why the balancing methods of ``configs`` keep them from stacking (their specs' reasons), or ``None``."""
    solo = sorted({c.balancing for c in configs if c.balancing in METHODS and not METHODS[c.balancing].stacks})
    if solo:
        return "; ".join(f"balancing {name} trains solo: {METHODS[name].solo_reason}" for name in solo)
    return None


def train_stacked(
    configs: Sequence[RunConfig],
    dataset: ConversationDataset,
    *,
    device: torch.device,
    pacing: Mapping[str, PacingRecord] | None = None,
    progress: bool = False,
    callbacks: Mapping[str, Sequence[Callback]] | None = None,
) -> dict[str, TrainingOutcome | BaseException]:
    """Train the arms of ``configs`` (resolved, differing in ``curriculum`` only) as one stack.

    Parameters
    ----------
    configs
        One resolved run configuration per arm (:func:`stack_problems` is empty for them).
    dataset
        The runs' data, already restricted to their modalities.
    device
        Where the data and the stacked model live.
    pacing
        Arm -> the paired spcl run's counts, for ``random`` / ``anti`` arms whose stack has no ``spcl`` arm.
    progress
        Show a progress bar over epochs.
    callbacks
        Arm -> that arm's callbacks, called at the end of every epoch with its rows.

    Returns
    -------
    dict
        Arm -> its :class:`~spcl_diag.train.loop.TrainingOutcome`, or the exception that failed
        it (:class:`~spcl_diag.errors.NonFiniteLossError`, :class:`PairedArmFailedError`).

    Raises
    ------
    ValueError
        The configs cannot be stacked (:func:`stack_problems`);
        :class:`~spcl_diag.models.stacked.StackingError` when the backbone cannot run under vmap.
    """
    problems = stack_problems(configs)
    if problems:
        raise ValueError("these runs cannot train as one stack: " + "; ".join(problems) + ".")
    config, arms = configs[0], [c.curriculum for c in configs]
    A = len(arms)
    setup = prepare_run(config, dataset, device)
    splits, train = setup.splits, setup.splits["train"]
    model = StackedBackbone(setup.model, A)
    check_stackable(model, splits["dev"].eval_batches(config.train.eval_batch_size)[0])  # draws no random numbers
    curriculum = StackedCurriculum(
        arms,
        lambda0=config.pacing.lambda0,  # type: ignore[arg-type]  # resolved: never None
        growth=config.pacing.growth,  # type: ignore[arg-type]
        cap=config.pacing.cap,
        normalisation=config.pacing.normalisation,
        pacing=pacing,
        generator=torch.Generator(device=device).manual_seed(setup.seeds.selection) if "random" in arms else None,
        class_weights=setup.class_weights,
    )
    balancers = arm_balancers(config, model, setup.seeds.balancing, setup.class_weights, setup.holdout)
    own_params = [list(balancer.parameters()) for balancer in balancers]  # each arm's own heads train with it
    optimizer = make_optimizer([*model.parameters(), *(p for params in own_params for p in params)], config, device)
    order_rng = np.random.default_rng(setup.seeds.order)
    group_names = list(model.groups)
    scopes = ["joint", *model.modalities]
    hooks = {arm: list((callbacks or {}).get(arm, ())) for arm in arms}
    replayed = {a: (pacing or {})[arm].kept.shape[0] for a, arm in enumerate(arms)  # a paced arm trains its twin's epochs
                if arm in PACED_ARMS and "spcl" not in arms and arm in (pacing or {})}
    ledger = ArmLedger(arms, config, train.n_utterances, record_epochs=replayed)
    rates = LearningRates(config, A)
    accumulation = Accumulation(config.train.grad_accumulation, -(-train.n_dialogues // config.train.batch_size))

    for epoch in tqdm(range(config.train.epochs), desc=f"{'+'.join(arms)} seed {config.seed}", disable=not progress,
                      leave=False):
        started = time.perf_counter()
        rates.apply(optimizer)
        factors = rates.factors()  # None while every arm has the optimiser's rate
        for a, balancer in enumerate(balancers):
            balancer.epoch_start(arm_model(model, balancer, a), train, epoch=epoch)
        model.train()
        lam = curriculum.value
        buffers = EpochBuffers(A, train.n_utterances, dataset.n_classes, scopes, len(group_names), device)
        for i, batch in enumerate(train.batches(order_rng.permutation(train.n_dialogues), config.train.batch_size)):
            output = model(batch)
            step = curriculum.step(output.joint, output.per_modality, batch.labels, batch.dialogue,
                                   n_dialogues=batch.n_dialogues)
            loss = torch.stack([
                balancer.loss(step.loss[a], arm_output(output, a), batch, epoch=epoch, reduce=functools.partial(
                    selection_loss, keep=step.keep[a], normalisation=config.pacing.normalisation))
                for a, balancer in enumerate(balancers)
            ])
            loss = loss if output.auxiliary_loss is None else loss + output.auxiliary_loss  # [A]
            buffers.add_loss(loss)
            if accumulation.starts(i):
                optimizer.zero_grad(set_to_none=True)
            accumulation.scale(loss, i).sum().backward()  # the arms' parameters are disjoint: each gets its own loss's gradient
            if accumulation.updates(i):
                norms = model.grad_norms()  # [G, A]
                buffers.add_grad_norms(norms)
                clip_arms_(model, own_params, config.train.clip_norm, norms)
                for a, balancer in enumerate(balancers):
                    balancer.after_clip(model.template, arm_output(output, a), batch, epoch=epoch)
                step_arms_(optimizer, model, own_params, factors)
            buffers.add_batch(batch.utterance_index, step.difficulty, step.keep, output)
        host = buffers.host(device, started)  # each arm's share of the stacked epoch's time
        ledger.check_finite(host, epoch)
        live = ledger.live
        if not live:
            break
        extra = {a: {key: float(v) for key, v in balancers[a].epoch_rows().items()} for a in live}
        evaluated = stacked_evaluate(model, {name: splits[name] for name in ("dev", "test")}, config.train.eval_batch_size)
        curriculum.epoch_end()  # lambda grows after the dev evaluation, as in the reference
        kept = curriculum.kept_counts(epoch)  # [batches, A]
        for a in live:
            balancers[a].epoch_end(epoch, {"train": ({s: p[a] for s, p in host.probs.items()}, train.labels_host),
                                           "dev": (evaluated[a]["dev"].probs, evaluated[a]["dev"].labels)})
            ledger.record(
                a, epoch, host, train=train, dataset=dataset, modalities=model.modalities, lam=lam, kept=kept[:, a],
                group_names=group_names, extra=extra[a], evaluated=evaluated[a], callbacks=hooks[arms[a]],
                state=functools.partial(model.state, a),
            )
        rates.epoch_end(epoch, ledger.scores)
        ledger.stop_early(epoch)
        if not ledger.live:
            break

    return {
        arm: ledger.failures[a] if a in ledger.failures
        else ledger.outcome(a, model.unstack(ledger.best_state[a]), curriculum.pacing_record(arm), setup)
        for a, arm in enumerate(arms)
    }


def stacked_evaluate(
    model: StackedBackbone, splits: Mapping[str, DeviceSplit], batch_size: int
) -> list[dict[str, SplitPredictions]]:
    """Per arm, split -> the probabilities of every utterance (joint and per modality), on the host."""
    per_arm: list[dict[str, SplitPredictions]] = [{} for _ in range(model.copies)]
    for name, split in splits.items():
        stacked = evaluate(model, split, batch_size)  # probabilities [A, U, C]
        for a in range(model.copies):
            per_arm[a][name] = dataclasses.replace(stacked, probs={scope: p[a] for scope, p in stacked.probs.items()})
    return per_arm
