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

Recurrent modules have no batching rule (``aten::gru.input``, ``aten::lstm.input``,
``aten::lstm_cell``, ...), so a stack runs them another way. ``nn.GRU``, ``nn.LSTM`` and
``nn.RNN`` run once per copy, on that copy's slice of their weights, with torch's own kernel
(:class:`_OneCopyAtATime`); every call draws the random numbers that one solo call draws (the
global generator is rewound before each copy), as ``randomness="same"`` asks. The exception is
cuDNN's dropout between the layers of a multi-layer module, drawn from a state of its own that
no copy can rewind: :func:`check_stackable` refuses it. Their cells (``nn.GRUCell``,
``nn.LSTMCell``, ``nn.RNNCell``), stepped once per time step, are written out gate by gate
(:func:`~spcl_diag.models.recurrent.cell_step`), a few batched operators for all copies.

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
import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.utils._pytree import tree_flatten, tree_unflatten

from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.recurrent import cell_step


class StackingError(ValueError):
    """A backbone that ``torch.func.vmap`` cannot run over stacked parameters."""


RECURRENT = (nn.RNNBase, nn.RNNCellBase)  # no vmap batching rule: run another way inside the stack


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
        self.recurrent = [m for m in model.modules() if isinstance(m, RECURRENT)]

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

        with _stackable(self.recurrent):
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


@contextmanager
def _stackable(modules: Sequence[nn.Module]) -> Iterator[None]:
    """While the stack runs, recurrent ``modules`` run once per copy, and cells gate by gate."""
    for module in modules:
        if isinstance(module, nn.RNNCellBase):
            module.forward = functools.partial(cell_step, module)
        else:
            module.forward = _per_copy_forward(module)
            # cuDNN's one weight buffer of a solo module (each copy's call compacts its own weights):
            # a forward that calls it would hand it the stacked weights, which have no storage.
            object.__setattr__(module, "flatten_parameters", _nothing)
    try:
        yield
    finally:
        for module in modules:
            del module.forward  # the class's methods again
            if isinstance(module, nn.RNNBase):
                del module.flatten_parameters


def _nothing() -> None:
    """``flatten_parameters`` of a recurrent module inside the stack."""


def _per_copy_forward(module: nn.Module) -> Callable[..., Any]:
    """``module``'s forward, through :class:`_OneCopyAtATime` when vmap batches its weights or inputs."""
    own = type(module).forward.__get__(module)

    def forward(*args: Any, **kwargs: Any) -> Any:
        # Under functional_call, named_parameters() are the tensors it put in: the stacked weights.
        leaves, spec = tree_flatten((args, kwargs, dict(module.named_parameters())))
        if not any(isinstance(x, Tensor) and torch._C._functorch.is_batchedtensor(x) for x in leaves):
            return own(*args, **kwargs)  # one copy's call, from _OneCopyAtATime.vmap
        structure: list[Any] = []  # the output's pytree structure, which only the copies' calls know
        flat = _OneCopyAtATime.apply(module, spec, structure.append, *leaves)  # a list itself would be unpacked
        return tree_unflatten(list(flat), structure[0])

    return forward


class _OneCopyAtATime(torch.autograd.Function):
    """A module's own forward under ``torch.func.vmap``: one call per copy, on its slices, outputs stacked.

    vmap calls :meth:`vmap` with the unbatched tensors and their batch dimensions
    (`extending torch.func <https://pytorch.org/docs/stable/notes/extending.func.html>`_); the
    calls there run under plain autograd, so the backward pass is torch's own for each copy.
    A module that draws random numbers (dropout between the layers of an ``nn.GRU``) draws
    those of one solo call for every copy: the stack's ``randomness="same"``.
    """

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        """Nothing to save (torch.func requires the method): autograd records the calls of :meth:`vmap`."""

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None, ...], module: nn.Module, spec: Any,
             keep_structure: Callable[[Any], None], *leaves: Any) -> tuple[tuple[Any, ...], tuple[int | None, ...]]:
        """The copies' outputs, flattened (their structure to ``keep_structure``), and their batch dimensions."""
        weight = next(module.parameters())
        rewind = _rewinder(weight.device) if module.training and _draws(module) else None
        copies = []
        with warnings.catch_warnings():  # cuDNN compacts one copy's weights per call; the solo run needs no copy
            warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
            for copy_index in range(info.batch_size):
                if rewind is not None:
                    rewind()
                picked = [x if dim is None else x.select(dim, copy_index)
                          for x, dim in zip(leaves, in_dims[3:])]  # in_dims of (module, spec, keep_structure, *leaves)
                args, kwargs, weights = tree_unflatten(picked, spec)
                copies.append(functional_call(module, weights, args, kwargs))
        flat, out_spec = tree_flatten(copies[0])
        outputs, out_dims = [], []
        for parts in zip(flat, *(tree_flatten(c)[0] for c in copies[1:])):
            # A tensor every copy returns as is (a PackedSequence's batch_sizes) is not stacked.
            shared = not isinstance(parts[0], Tensor) or all(p is parts[0] for p in parts)
            outputs.append(parts[0] if shared else torch.stack(parts))
            out_dims.append(None if shared else 0)
        keep_structure(out_spec)
        return tuple(outputs), tuple(out_dims)


def _draws(module: nn.Module) -> bool:
    """Whether ``module`` draws random numbers in training: dropout between the layers of an ``nn.RNNBase``."""
    return isinstance(module, nn.RNNBase) and module.dropout > 0 and module.num_layers > 1


def _rewinder(device: torch.device) -> Callable[[], None]:
    """A call that sets ``device``'s default random generator back to its present state."""
    if device.type == "cpu":
        state = torch.get_rng_state()
        return lambda: torch.set_rng_state(state)
    backend = getattr(torch, device.type)
    state = backend.get_rng_state(device)
    return lambda: backend.set_rng_state(state, device)


def check_stackable(stack: StackedBackbone, batch: Any) -> None:
    """Run the stack once on ``batch`` in eval mode, without gradients; raise :class:`StackingError` if vmap cannot.

    Eval mode draws no dropout, so the check leaves the global random state as it found it.
    A recurrent module that drops out between its layers in cuDNN is refused: cuDNN draws
    those masks from a state of its own, which advances once per copy, so the copies would not
    draw their solo runs' masks.
    """
    name = type(stack.template).__name__
    for module_name, module in stack.template.named_modules():
        if _draws(module) and _uses_cudnn(module):
            raise StackingError(
                f"backbone {name} cannot be stacked (its {type(module).__name__} {module_name!r} draws its dropout "
                "between layers from cuDNN's own random state, which the arms of a stack cannot share: set that "
                "dropout to 0 and put nn.Dropout between single-layer modules instead)"
            )
    was_training = stack.training
    try:
        with torch.no_grad():
            stack.eval()(batch)
    except (RuntimeError, ValueError, NotImplementedError) as err:
        raise StackingError(
            f"backbone {name} cannot be stacked (torch.func.vmap over its parameters failed: {_first_sentence(err)})"
        ) from None
    finally:
        stack.train(was_training)


def _uses_cudnn(module: nn.Module) -> bool:
    """Whether ``module`` (an ``nn.RNNBase``) runs in cuDNN: on a CUDA device with cuDNN enabled."""
    return (next(module.parameters()).device.type == "cuda" and torch.backends.cudnn.is_available()
            and torch.backends.cudnn.enabled)


def _first_sentence(err: Exception) -> str:
    """The first sentence of ``err``'s message, without its full stop (torch's run to several lines)."""
    text = " ".join(str(err).split())
    return text.split(". ")[0].rstrip(".") or type(err).__name__
