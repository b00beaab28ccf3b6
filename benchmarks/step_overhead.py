"""Time per training step with tiny widths: the dispatch floor of the instrumented SPCL loop.

Every feature and hidden width is 8, so a step does almost no arithmetic. What remains is the
operator dispatch and Python of the step, and on a GPU its kernel launches: the floor under the
time of a MELD epoch however fast the device. The data has MELD's real dialogue structure (1,038
training dialogues, 65 steps of 16 dialogues per epoch). Reported per backbone: milliseconds per
training step (the last of ``--epochs`` epochs; evaluation excluded) and, with ``--count-ops``, the
top-level operators issued per training step (torch profiler over one epoch, the epoch's
evaluation included).

    python benchmarks/step_overhead.py --device cpu --threads 1 --count-ops
    python benchmarks/step_overhead.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import math

import torch
from torch.profiler import ProfilerActivity, profile
from training_speed import shaped_dataset

from spcl_diag import RunConfig
from spcl_diag.data.registry import resolve_data_dir
from spcl_diag.errors import DataFormatError
from spcl_diag.models import BACKBONES
from spcl_diag.runs.execute import resolve_device
from spcl_diag.train.loop import train_run

WIDTH = 8
TINY_MODELS: dict[str, dict[str, int]] = {
    "late_fusion": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "mmgcn": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "mm_dfn": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH},
    "dialogue_gcn": {"hidden_dim": WIDTH, "hidden2_dim": WIDTH, "feedforward_dim": WIDTH, "n_bases": 2},
    "biddin": {"hidden_dim": WIDTH, "hidden2_dim": WIDTH, "hidden3_dim": WIDTH, "hidden4_dim": WIDTH},
    "ada2i": {"hidden_dim": WIDTH, "feedforward_dim": WIDTH, "tensor_rank": 2},
}


def top_level_operators(config: RunConfig, dataset, device: torch.device) -> int:
    """Operators not called from inside another operator, over one epoch: about the kernels issued."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_run(config.with_overrides({"train.epochs": 1}).resolved(), dataset, device=device)
    return sum(
        1 for e in prof.events()
        if e.name.startswith("aten::") and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=sorted(BACKBONES), choices=sorted(BACKBONES))
    parser.add_argument("--epochs", type=int, default=2, help="the last epoch is timed (the first warms up)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--count-ops", action="store_true", help="also count operators per step (one more epoch)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    try:
        data_dir = resolve_data_dir(None)
    except DataFormatError:
        data_dir = None  # a synthetic stand-in of MELD's size
    dataset, origin = shaped_dataset("meld", data_dir, widths=dict.fromkeys("tav", WIDTH))
    for backbone in args.backbones:
        overrides = {f"model.{k}": v for k, v in TINY_MODELS[backbone].items()}
        config = RunConfig(dataset="meld-shape", backbone=backbone, curriculum="spcl").with_overrides(
            {**overrides, "train.epochs": args.epochs}
        ).resolved()
        steps = math.ceil(len(dataset.dialogue_indices("train")) / config.train.batch_size)
        outcome = train_run(config, dataset, device=device)
        row = {"backbone": backbone, "device": str(device), "threads": torch.get_num_threads(), "data": origin,
               "steps_per_epoch": steps, "ms_per_step": round(1000 * outcome.epoch_seconds[-1] / steps, 2)}
        if args.count_ops:
            row["operators_per_step"] = round(top_level_operators(config, dataset, device) / steps)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
