"""Time and operators per training step with tiny widths: the dispatch floor of the instrumented SPCL loop.

Every feature and hidden width is 8, so a step does almost no arithmetic. What remains is the
operator dispatch and Python of the step, and on a GPU its kernel launches: the floor under the
time of a MELD epoch however fast the device. The data has MELD's real dialogue structure (1,038
training dialogues, 65 steps of 16 dialogues per epoch). Reported per backbone: milliseconds per
training step (the last of ``--epochs`` epochs; evaluation excluded) and, with ``--count-ops``,
operators per training step over one epoch with its evaluation (torch profiler):

* ``operators_per_step``: top-level operators, those not called from inside another operator;
* ``kernels_per_step``: innermost operators that compute, i.e. the leaves of the operator tree
  without the views (an operator whose schema returns an alias of its input) and the
  allocations (``empty*``), which launch nothing. This is the closer count of kernel
  launches, and the one that sees what ``torch.func.vmap`` does inside an operator (a
  batching rule that decomposes it, or a fallback that loops over the stacked models).

With ``--stack N`` the first N arms of ``none spcl random anti spcl-utterance spcl-conversation``
train as one stacked model (:func:`spcl_diag.train.stacked.train_stacked`) and every figure is
per run-step: the stacked step's time and operators divided by N.

    python benchmarks/step_overhead.py --device cpu --threads 1 --count-ops
    python benchmarks/step_overhead.py --device cpu --threads 1 --count-ops --stack 4
    python benchmarks/step_overhead.py --device cuda
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile
from training_speed import shaped_dataset

from spcl_diag import RunConfig
from spcl_diag.curriculum.arms import ARMS
from spcl_diag.data.batching import resolve_device
from spcl_diag.data.registry import resolve_data_dir
from spcl_diag.errors import DataFormatError
from spcl_diag.models import BACKBONES
from spcl_diag.train.loop import train_run
from spcl_diag.train.stacked import train_stacked

WIDTH = 8
TINY_MODELS: dict[str, dict[str, int]] = {
    "late_fusion": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "mmgcn": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "mm_dfn": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "dialogue_gcn": {"hidden_dim": WIDTH, "hidden2_dim": WIDTH, "feedforward_dim": WIDTH, "n_bases": 2},
    "biddin": {"hidden_dim": WIDTH, "hidden2_dim": WIDTH, "hidden3_dim": WIDTH, "hidden4_dim": WIDTH},
    "ada2i": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH, "tensor_rank": 2},
}


def operator_counts(train: Callable[[], object]) -> dict[str, int]:
    """Top-level operators and compute kernels (see the module docstring) issued while ``train()`` runs."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train()
    events = [e for e in prof.events() if e.name.startswith("aten::")]
    top = [e for e in events if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")]
    leaves = [e for e in events if not any(c.name.startswith("aten::") for c in e.cpu_children)]
    return {"operators": len(top), "kernels": sum(1 for e in leaves if computes(e.name))}


@functools.cache
def computes(name: str) -> bool:
    """Whether an aten operator can launch a kernel: neither an allocation nor a view of its input."""
    op_name = name.removeprefix("aten::")
    if op_name.startswith("empty") or op_name in ("new_empty", "new_empty_strided"):
        return False
    packet = getattr(torch.ops.aten, op_name, None)
    if packet is None:
        return True
    schema = getattr(packet, packet.overloads()[0])._schema
    first = schema.returns[0] if schema.returns else None
    return not (first is not None and first.alias_info is not None and not first.alias_info.is_write)


def one_epoch(configs: list[RunConfig], dataset, device: torch.device) -> Callable[[], object]:
    """Train ``configs`` for one epoch: solo when there is one, else as one stack."""
    configs = [c.with_overrides({"train.epochs": 1}).resolved() for c in configs]
    if len(configs) == 1:
        return lambda: train_run(configs[0], dataset, device=device)
    return lambda: train_stacked(configs, dataset, device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=sorted(BACKBONES), choices=sorted(BACKBONES))
    parser.add_argument("--epochs", type=int, default=2, help="the last epoch is timed (the first warms up)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--count-ops", action="store_true", help="also count operators per step (one more epoch)")
    parser.add_argument("--stack", type=int, default=1, choices=range(1, len(ARMS) + 1), metavar="N",
                        help="train the first N arms as one stacked model; figures per run-step (default: solo)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    try:
        data_dir = resolve_data_dir(None)
    except DataFormatError:
        data_dir = None  # a synthetic stand-in of MELD's size
    dataset, origin = shaped_dataset("meld", data_dir, widths=dict.fromkeys("tav", WIDTH))
    arms = ARMS[: args.stack] if args.stack > 1 else ("spcl",)
    for backbone in args.backbones:
        overrides = {f"model.{k}": v for k, v in TINY_MODELS[backbone].items()}
        config = RunConfig(dataset="meld-shape", backbone=backbone, curriculum="spcl").with_overrides(
            {**overrides, "train.epochs": args.epochs}
        ).resolved()
        configs = [config.paired(arm) for arm in arms]
        steps = math.ceil(len(dataset.dialogue_indices("train")) / config.train.batch_size)
        runs = len(configs)
        if runs == 1:
            seconds = train_run(config, dataset, device=device).epoch_seconds[-1]
        else:  # a stacked run records its share of the stacked epoch
            seconds = runs * next(iter(train_stacked(configs, dataset, device=device).values())).epoch_seconds[-1]
        row = {"backbone": backbone, "device": str(device), "threads": torch.get_num_threads(), "data": origin,
               "stacked_runs": runs, "steps_per_epoch": steps, "ms_per_run_step": round(1000 * seconds / steps / runs, 2)}
        if args.count_ops:
            counts = operator_counts(one_epoch(configs, dataset, device))
            row["operators_per_run_step"] = round(counts["operators"] / steps / runs)
            row["kernels_per_run_step"] = round(counts["kernels"] / steps / runs)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
