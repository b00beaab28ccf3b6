r"""Several copies of one backbone as one model: parameters stacked along a leading dimension.

:class:`StackedBackbone` holds ``A`` sets of a backbone's parameters as ``[A, ...]`` tensors and
runs them with ``torch.func.vmap`` over ``torch.func.functional_call``: one forward and one
backward per step for all copies, each operator issued once for the stack. The copies share
the batch and, through ``randomness="same"``, their dropout masks, which are the masks a
single copy draws from the same global generator state: a copy trained here follows its solo
run (:mod:`spcl_diag.train.stacked`).

Buffers are shared, not stacked: a backbone that writes to a buffer in its forward pass
(batch-norm running statistics) cannot be stacked, and neither can one whose forward reads
tensor values in Python (``.item()``, ``if x.any()``); :func:`check_stackable` says so before
any training. Operators without a batching rule still work, at one call per copy (torch
warns about them once).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from spcl_diag.models.base import Backbone, ModelOutput
>>> class Tiny(Backbone):
...     def __init__(self):
...         super().__init__("t", 2)
...         self.branches["t"] = nn.Linear(3, 2)
...     def forward(self, batch):
...         logits = self.branches["t"](batch)
...         return ModelOutput(joint=logits, per_modality={"t": logits})
>>> stack = StackedBackbone(Tiny(), copies=4)
>>> stack(torch.ones(5, 3)).joint.shape
torch.Size([4, 5, 2])
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, vmap

from spcl_diag.models.base import Backbone, ModelOutput


class StackingError(ValueError):
    """A backbone that ``torch.func.vmap`` cannot run over stacked parameters."""


class StackedBackbone:
    """``copies`` copies of ``model``, all starting from its current weights.

    ``model`` itself is the template of the forward pass: its own parameters are not read
    while the stack trains, and :meth:`unstack` returns independent solo models.
    """

    def __init__(self, model: Backbone, copies: int):
        self.template = model
        self.copies = copies
        self.params: dict[str, Tensor] = {
            name: p.detach().unsqueeze(0).repeat(copies, *(1,) * p.dim()).requires_grad_(p.requires_grad)
            for name, p in model.named_parameters()
        }
        self.buffers: dict[str, Tensor] = dict(model.named_buffers())
        names = {id(p): name for name, p in model.named_parameters()}
        self.groups: dict[str, list[Tensor]] = {  # the non-empty groups, as the solo loop reports them
            group: [self.params[names[id(p)]] for p in params]
            for group, params in model.parameter_groups().items() if params
        }
        self.modalities = model.modalities

    @property
    def training(self) -> bool:
        return self.template.training

    def train(self, mode: bool = True) -> StackedBackbone:
        self.template.train(mode)
        return self

    def eval(self) -> StackedBackbone:
        return self.train(False)

    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def __call__(self, batch: Any) -> ModelOutput:
        """Every copy's output on ``batch``: ``joint`` ``[A, N, C]``, ``per_modality[m]`` ``[A, N, C]``,
        ``features[m]`` ``[A, N, h]`` (what the backbone returns) and the auxiliary loss ``[A]``."""
        def one_copy(params: dict[str, Tensor]) -> dict[str, Any]:
            output = functional_call(self.template, (params, self.buffers), (batch,))
            fields: dict[str, Any] = {"joint": output.joint, "per_modality": output.per_modality,
                                      "features": output.features}
            if output.auxiliary_loss is not None:
                fields["auxiliary_loss"] = output.auxiliary_loss
            return fields

        fields = vmap(one_copy, randomness="same")(self.params)
        return ModelOutput(joint=fields["joint"], per_modality=fields["per_modality"], features=fields["features"],
                           auxiliary_loss=fields.get("auxiliary_loss"))

    def state(self, index: int) -> dict[str, Tensor]:
        """Copy ``index``'s weights (and the shared buffers) as a detached ``state_dict``."""
        state = {name: p[index].detach().clone() for name, p in self.params.items()}
        persistent = self.template.state_dict()
        state.update({name: b for name, b in self.buffers.items() if name in persistent})
        return state

    def unstack(self, state: dict[str, Tensor]) -> Backbone:
        """A solo model holding ``state`` (from :meth:`state`)."""
        model = copy.deepcopy(self.template)
        model.load_state_dict(state)
        return model

    def grad_norms(self) -> Tensor:
        r"""``[G, A]`` L2 norm of each parameter group's gradient per copy, before clipping.

        .. math:: \|g_{G,a}\|_2 = \Bigl(\sum_{p \in G} \|\nabla_{p_a}\|_2^2\Bigr)^{1/2}

        A group without gradients gets 0, as in the solo loop.
        """
        device = next(iter(self.params.values())).device
        norms = []
        for params in self.groups.values():
            per_param = [_norm_per_copy(p.grad) for p in params if p.grad is not None]
            norms.append(torch.linalg.vector_norm(torch.stack(per_param), dim=0) if per_param
                         else torch.zeros(self.copies, device=device))
        return torch.stack(norms)

    def clip_grads_(self, max_norm: float, group_norms: Tensor) -> None:
        """Scale each copy's gradient to total norm at most ``max_norm``, as ``clip_grad_norm_`` does per model.

        ``group_norms`` is :meth:`grad_norms` (the groups partition the parameters); the
        coefficient is ``min(1, max_norm / (||g_a|| + 1e-6))``.
        """
        total = torch.linalg.vector_norm(group_norms, dim=0)  # [A]
        coefficient = (max_norm / (total + 1e-6)).clamp_max(1.0)
        grads = [p.grad for p in self.params.values() if p.grad is not None]
        shaped = {dim: coefficient.view(-1, *(1,) * (dim - 1)) for dim in {g.dim() for g in grads}}  # [A, 1, ...]
        torch._foreach_mul_(grads, [shaped[g.dim()] for g in grads])  # one call, broadcast per tensor


def _norm_per_copy(grad: Tensor) -> Tensor:
    """``[A]`` L2 norm of each copy's slice of a stacked gradient."""
    return torch.linalg.vector_norm(grad, dim=tuple(range(1, grad.dim()))) if grad.dim() > 1 else grad.abs()


def check_stackable(stack: StackedBackbone, batch: Any) -> None:
    """Run the stack once on ``batch`` in eval mode, without gradients; raise :class:`StackingError` if vmap cannot.

    Eval mode draws no dropout, so the check leaves the global random state as it found it.
    """
    name = type(stack.template).__name__
    was_training = stack.training
    try:
        with torch.no_grad():
            stack.eval()(batch)
    except (RuntimeError, ValueError, NotImplementedError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StackingError(
            f"backbone {name} cannot be stacked: torch.func.vmap over its parameters failed ({first})"
        ) from None
    finally:
        stack.train(was_training)
