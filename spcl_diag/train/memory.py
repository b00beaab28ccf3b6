"""Will a stack fit? Its peak memory, estimated before it trains, against the device's free memory.

A stack of ``A`` arms holds one copy of the data and, per arm, the weights, their gradients,
Adam's two moments and the activations that a training step keeps for its backward pass. The
estimate measures one step of the run's own model on its largest training batch (the
``batch_size`` longest dialogues), stacked once and twice, and extrapolates linearly::

    step(A) = shared + A * per_arm,   per_arm = step(2) - step(1),   shared = step(1) - per_arm
    peak(A) = MARGIN * (data + shared + A * (per_arm + 4 * parameter bytes))

On CUDA ``step`` is the peak allocated memory of a forward and backward pass
(``torch.cuda.max_memory_allocated``); on CPU, where torch's allocator reports nothing, it is
the bytes of the tensors the forward pass saves for the backward (``saved_tensors_hooks``,
each storage counted once). The measurement trains nothing: it runs on copies, under a forked
global random state. :data:`MARGIN` covers what the count leaves out (the backward's
transient buffers, the allocator's rounding and fragmentation). Measured on CPU against the
resident-set growth of a 1- and a 4-arm stack (late fusion and MMGCN at their default widths,
60 synthetic dialogues of 20-60 utterances; two runs each), the estimate without the margin was
up to 21% low (4 arms of late fusion: 514 MiB estimated, 497-538 MiB grown; MMGCN: 698 against
800-887 MiB); with it, 668 and 907 MiB, it lay above every measurement.

Free memory is ``torch.cuda.mem_get_info`` on CUDA and ``MemAvailable`` of ``/proc/meminfo``
on CPU, or the environment variable :data:`LIMIT_VARIABLE` (bytes, or with a ``K``/``M``/``G``
suffix) where it is set, to plan for a smaller share of a machine or to test the split.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from spcl_diag.config.schema import RunConfig
from spcl_diag.data.batching import Batch, DeviceSplit
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.errors import ConfigError
from spcl_diag.models.stacked import StackedBackbone
from spcl_diag.train.loop import prepare_run

MARGIN = 1.3
LIMIT_VARIABLE = "SPCL_DIAG_MEMORY_LIMIT"
_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class StackMemory:
    """The estimated bytes of a stack: ``shared`` once, ``per_arm`` for each arm (margin included)."""

    shared: int
    per_arm: int

    def peak(self, arms: int) -> int:
        """Estimated peak bytes of a stack of ``arms`` arms."""
        return self.shared + arms * self.per_arm

    def arms_that_fit(self, free: int) -> int:
        """The most arms whose stack fits in ``free`` bytes (0 when not even one does)."""
        return max(math.floor((free - self.shared) / self.per_arm), 0) if self.per_arm > 0 else 2**31


def estimate_stack_memory(config: RunConfig, dataset: ConversationDataset, device: torch.device) -> StackMemory:
    """Estimate the memory of a stack of ``config``'s arms on ``dataset`` (see the module docstring)."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        setup = prepare_run(config, dataset, device)
        train = setup.splits["train"]
        batch = largest_batch(train, config.train.batch_size)
        one, two = (_step_bytes(StackedBackbone(copy.deepcopy(setup.model), arms), batch, device) for arms in (1, 2))
    parameters = sum(p.numel() * p.element_size() for p in setup.model.parameters())
    per_arm = max(two - one, 0) + 4 * parameters  # weights, gradients, Adam's two moments
    shared = max(one - (two - one), 0) + sum(_split_bytes(s) for s in setup.splits.values())
    return StackMemory(shared=math.ceil(MARGIN * shared), per_arm=math.ceil(MARGIN * per_arm))


def free_memory(device: torch.device) -> int:
    """Bytes a stack may use on ``device``: :data:`LIMIT_VARIABLE` if set, else what the device has free."""
    limit = os.environ.get(LIMIT_VARIABLE, "").strip()
    if limit:
        return parse_bytes(limit)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return _available_ram()


def parse_bytes(text: str) -> int:
    """``"512M"`` -> 536870912; a plain number is bytes.

    >>> parse_bytes("2G"), parse_bytes("1500")
    (2147483648, 1500)
    """
    number, suffix = text.strip().upper().removesuffix("B").removesuffix("I"), ""
    if number and number[-1] in _SUFFIXES:
        number, suffix = number[:-1], number[-1]
    try:
        value = float(number) * _SUFFIXES[suffix]
    except ValueError:
        raise ConfigError(f"{LIMIT_VARIABLE}={text!r} is not a size; give bytes or a number with K, M or G "
                          "(e.g. 8G).") from None
    if not value > 0:
        raise ConfigError(f"{LIMIT_VARIABLE}={text!r} must be positive.")
    return int(value)


def largest_batch(split: DeviceSplit, batch_size: int) -> Batch:
    """The training batch with the most utterances: the ``batch_size`` longest dialogues."""
    longest = np.argsort(-split.lengths, kind="stable")[:batch_size]
    return next(iter(split.batches(longest, batch_size)))


def _step_bytes(model: StackedBackbone, batch: Batch, device: torch.device) -> int:
    """Bytes one training step of ``model`` on ``batch`` holds at its peak (see the module docstring)."""
    model.train()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        _loss(model(batch)).backward()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    saved: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        try:
            saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):  # a tensor without storage of its own (vmap, views)
            saved[id(tensor)] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(batch)
    del output
    return sum(saved.values())


def _loss(output) -> Tensor:
    """A scalar that depends on every head, so one backward reaches every parameter."""
    total = output.joint.float().sum()
    for logits in output.per_modality.values():
        total = total + logits.float().sum()
    return total


def _split_bytes(split: DeviceSplit) -> int:
    tensors = [*split.features.values(), split.labels, split.speakers]
    return sum(t.numel() * t.element_size() for t in tensors)


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
