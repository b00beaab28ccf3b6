"""Optimisation settings of the training loops: the optimiser, the learning rate per epoch, gradient accumulation.

Part of the epoch skeleton both loops share (:mod:`spcl_diag.train.epoch`): each option is written
here once, for ``A`` arms (``A = 1`` for a solo run), and read from ``config.train``
(``optimizer``, ``lr``, ``weight_decay``, ``scheduler``, ``grad_accumulation``). Every default is
the SPCL reference's training: Adam at a constant rate, one update per batch.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor

from spcl_diag.config.schema import RunConfig

SGD_MOMENTUM = 0.9  # heavy-ball momentum of train.optimizer = "sgd" (Sutskever et al., ICML 2013; torchvision's recipes)


def make_optimizer(params: Iterable[Tensor], config: RunConfig, device: torch.device) -> torch.optim.Optimizer:
    """The optimiser ``config.train.optimizer`` with the run's learning rate and weight decay.

    * ``adam`` (default, the SPCL reference): ``torch.optim.Adam``, ``weight_decay`` an L2 term of the
      gradient (Kingma & Ba, ICLR 2015);
    * ``adamw``: ``torch.optim.AdamW``, ``weight_decay`` decoupled from the gradient (Loshchilov &
      Hutter, ICLR 2019); torch's betas and eps, as ``adam``;
    * ``sgd``: ``torch.optim.SGD`` with momentum :data:`SGD_MOMENTUM` (0.9, no Nesterov, no dampening),
      ``weight_decay`` an L2 term.

    Adam and AdamW are fused where torch has it (:func:`has_fused_adam`).
    """
    train = config.train
    params = list(params)
    if train.optimizer == "sgd":
        return torch.optim.SGD(params, lr=train.lr, momentum=SGD_MOMENTUM, weight_decay=train.weight_decay)
    adam = torch.optim.AdamW if train.optimizer == "adamw" else torch.optim.Adam
    return adam(params, lr=train.lr, weight_decay=train.weight_decay, fused=has_fused_adam(device))


def has_fused_adam(device: torch.device) -> bool:
    """Whether torch has the single-kernel Adam update for ``device``: CUDA, and CPU from torch 2.4.

    One pass over parameters, gradients and moments instead of about ten per parameter: on two
    CPU cores it updates Ada2I's 19 M parameters in 19 ms instead of 100 ms (torch 2.13), the
    same values to 1.5e-8 after 23 steps.
    """
    return device.type == "cuda" or (device.type == "cpu" and torch.__version__ >= "2.4")


# ----------------------------------------------------------------------------- learning rates
STEP_GAMMA = 0.1  # "step" and "plateau": the factor of each decay (torch's StepLR / ReduceLROnPlateau default)
STEP_MILESTONES = (0.5, 0.75)  # "step": decay at these fractions of train.epochs (He et al., CVPR 2016, CIFAR)
PLATEAU_PATIENCE = 10  # "plateau": epochs without a better dev score before a decay (torch's default)
PLATEAU_THRESHOLD = 1e-4  # "plateau": a better score exceeds the best by this relative margin (torch's default)
PLATEAU_EPS = 1e-8  # "plateau": a decay smaller than this is skipped (torch's default)


class LearningRates:
    r"""The learning rate of every arm in every epoch, ``train.scheduler``; stepped once per epoch.

    With base rate :math:`\eta` (``train.lr``), :math:`E` epochs and 0-based epoch :math:`e`:

    * ``none`` (default): :math:`\eta` throughout (the SPCL reference);
    * ``cosine``: :math:`\eta_e = \eta\,(1 + \cos(\pi e / E)) / 2`, annealed towards 0 over the run
      (SGDR without restarts, Loshchilov & Hutter, ICLR 2017; torch's ``CosineAnnealingLR`` with
      ``T_max = E``, ``eta_min = 0``);
    * ``step``: :math:`\eta_e = \eta\,\gamma^{\#\{m \in M : m \le e\}}`, :math:`\gamma` = :data:`STEP_GAMMA`,
      milestones :math:`M = \{\lfloor E/2 \rfloor, \lfloor 3E/4 \rfloor\}` (:data:`STEP_MILESTONES`;
      torch's ``MultiStepLR``);
    * ``plateau``: per arm, :math:`\times` :data:`STEP_GAMMA` once its dev selection score (the
      weighted F1 that selects the best epoch) has not exceeded its best by the relative margin
      :data:`PLATEAU_THRESHOLD` for more than :data:`PLATEAU_PATIENCE` epochs (torch's
      ``ReduceLROnPlateau(mode="max")`` with its defaults; no cooldown, no floor).

    The rate of epoch :math:`e + 1` is set after the evaluation of epoch :math:`e` (:meth:`epoch_end`).
    The arms of a stack share one optimiser: it runs at the largest arm's rate, and :meth:`factors`
    gives the ``[A]`` ratio by which each arm's update is scaled where the arms' rates differ (only
    ``plateau`` makes them differ); Adam's, AdamW's and momentum SGD's updates are linear in the
    learning rate, so the scaled update is the update at the arm's own rate.
    """

    def __init__(self, config: RunConfig, arms: int) -> None:
        self.kind = config.train.scheduler
        self.base, self.epochs = config.train.lr, config.train.epochs
        self.rates = np.full(arms, self.base)
        self.best = np.full(arms, -np.inf)
        self.bad_epochs = np.zeros(arms, np.int64)

    def epoch_end(self, epoch: int, scores: dict[int, float]) -> None:
        """Set the rates of 0-based epoch ``epoch + 1`` from the dev selection ``scores`` of ``epoch`` (arm -> score)."""
        e = epoch + 1
        if self.kind == "cosine":
            self.rates[:] = self.base * (1 + math.cos(math.pi * e / self.epochs)) / 2
        elif self.kind == "step":
            milestones = [int(fraction * self.epochs) for fraction in STEP_MILESTONES]
            self.rates[:] = self.base * STEP_GAMMA ** bisect.bisect_right(milestones, e)
        elif self.kind == "plateau":
            for a, score in scores.items():
                if score > self.best[a] * (1 + PLATEAU_THRESHOLD):
                    self.best[a], self.bad_epochs[a] = score, 0
                else:
                    self.bad_epochs[a] += 1
                if self.bad_epochs[a] > PLATEAU_PATIENCE:
                    if self.rates[a] * (1 - STEP_GAMMA) > PLATEAU_EPS:
                        self.rates[a] *= STEP_GAMMA
                    self.bad_epochs[a] = 0

    def apply(self, optimizer: torch.optim.Optimizer) -> None:
        """Set the optimiser's rate for the coming epoch: the largest arm's (untouched with ``none``)."""
        if self.kind != "none":
            for group in optimizer.param_groups:
                group["lr"] = float(self.rates.max())

    def factors(self) -> np.ndarray | None:
        """``[A]`` each arm's rate over the optimiser's, or ``None`` while every arm has the same rate."""
        top = self.rates.max()
        return None if (self.rates == top).all() else self.rates / top


class Accumulation:
    """Gradient accumulation, ``train.grad_accumulation = k``: which batches of an epoch start and end an update.

    The epoch's batches are taken in groups of ``k`` (the last group may be shorter); each batch's loss
    is divided by its group's size, so the update's gradient is the mean of the group's batch
    gradients (an effective batch of ``k * batch_size`` dialogues), and the gradient norms, the
    balancing hooks around the clip (given the group's last batch), the clip and the optimiser step
    act once per group. ``k = 1`` (default) is one update per batch, untouched.
    """

    def __init__(self, k: int, n_batches: int) -> None:
        self.k, self.n_batches = k, n_batches

    def starts(self, i: int) -> bool:
        """Batch ``i`` (0-based) opens a group: zero the gradients before its backward pass."""
        return i % self.k == 0

    def updates(self, i: int) -> bool:
        """Batch ``i`` closes a group: clip and step after its backward pass."""
        return (i + 1) % self.k == 0 or i == self.n_batches - 1

    def scale(self, loss: Tensor, i: int) -> Tensor:
        """``loss`` of batch ``i`` divided by the size of its group."""
        if self.k == 1:
            return loss
        first = i - i % self.k
        return loss / (min(first + self.k, self.n_batches) - first)
