"""Late fusion at IEMOCAP reference sizes against the float32 GEMM floor of the same batches.

Both numbers come from one process, with the same torch thread count, for every epoch after
the first (which warms up):

* **step**: seconds per training step of the real instrumented loop
  (``spcl_diag.train.loop.train_run``, arm ``spcl``): the epoch's training time (evaluation
  excluded) over its steps, as ``step_overhead.py`` reports it.
* **floor**: seconds per step of exactly the matrix products of that epoch's batches. Before
  the run, each batch of each timed epoch (the same dialogues in the same order: the loop's
  batch-order stream replayed) goes through a fresh model's forward and the backward of its
  joint loss under a ``TorchDispatchMode`` that records the shape of every ``mm``, ``addmm``,
  ``bmm`` and ``baddbmm`` dispatched (not computing them): per linear layer its forward, the
  gradient of its input and of its weight (the first layer of each encoder has no input
  gradient, the features need none), per attention product its forward and the gradients of
  its two operands; 123 products per late-fusion step at tav. Right after each timed epoch (a
  loop callback, so under the same machine load) the same shapes run as
  ``mm``/``addmm``/``bmm``/``baddbmm`` on contiguous float32 operands into preallocated
  outputs; a batch's floor is the fastest of ``--repeats`` replays.

``ratio = step / floor`` is what the loop spends beyond the arithmetic no implementation can
skip: dropout masks, softmax, layer norms, the scatter to and gather from the padded attention
grid, the curriculum, gradient norms, clipping, Adam, the epoch buffers, the Python of a step.
One JSON row per timed epoch, then the median ratio. ``--profile N`` trains one more epoch
under the torch profiler and prints the N aten operators with the most self CPU time in the
training steps (the epoch's evaluation left out).

Data: the real IEMOCAP dialogue structure (108 train dialogues, 7 steps of 16) with random
features at the SPCL widths t/a/v 768/512/1024 when the shared folder is there
(``resolve_data_dir``: ``--data-dir``, else ``$SPCL_DIAG_DATA``, else ``../shared/data``), else a
synthetic stand-in of the same size (``training_speed.shaped_dataset``). Model: the backbone's
defaults (late fusion: h 200, 2 layers, feed-forward 2048, p 0.5), batch 16.

    python benchmarks/gemm_floor.py --threads 2 --epochs 2 --repeats 1
    python benchmarks/gemm_floor.py --threads 1 --epochs 2 --repeats 1 --profile 30
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).parent))
from training_speed import shaped_dataset

from spcl_diag import RunConfig, __version__
from spcl_diag.config.seeds import RunSeeds
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.registry import prepare_dataset, resolve_data_dir
from spcl_diag.errors import DataFormatError
from spcl_diag.models import BACKBONES, build_backbone
from spcl_diag.train import loop
from spcl_diag.train.callbacks import Callback, EpochEnd

aten = torch.ops.aten
GEMMS = (aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default)
Call = tuple[object, tuple[tuple[int, ...], ...]]  # (aten overload, operand shapes)


class GemmRecorder(TorchDispatchMode):
    """Records the operand shapes of every matrix product dispatched while active.

    The products themselves are not computed (zeros of the output shape are returned): only
    their shapes are wanted, and no operation of the model branches on values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func not in GEMMS:
            return func(*args, **(kwargs or {}))
        shapes = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
        self.calls.append((func, shapes))
        return torch.zeros(*shapes[-2][:-1], shapes[-1][-1])


def epoch_gemms(config: RunConfig, dataset, epochs: range) -> dict[int, list[list[Call]]]:
    """Epoch (1-based) -> per training step, the matrix products of its forward and backward.

    The batches are those of the run: the same dialogues in the same order (the loop's
    batch-order stream replayed); the model is a fresh one of the run's configuration.
    """
    train = DeviceSplit(dataset, "train", "cpu")
    model = build_backbone(config.backbone, modalities=config.modalities, dims=dataset.dims,
                           n_classes=dataset.n_classes, n_speakers=dataset.n_speakers, overrides=config.model).train()
    order_rng = np.random.default_rng(RunSeeds.from_seed(config.seed).order)
    out = {}
    with torch.random.fork_rng():
        for epoch in range(1, epochs.stop):
            order = order_rng.permutation(train.n_dialogues)
            if epoch not in epochs:
                continue
            steps = []
            for batch in train.batches(order, config.train.batch_size):
                with GemmRecorder() as recorder:
                    F.cross_entropy(model(batch).joint, batch.labels).backward()
                model.zero_grad(set_to_none=True)
                steps.append(recorder.calls)
            out[epoch] = steps
    return out


def replay_seconds(calls: list[Call], repeats: int, generator: torch.Generator) -> float:
    """Fastest of ``repeats`` timed replays of ``calls`` on fresh contiguous operands (after one untimed run)."""
    operands = [[torch.rand(s, generator=generator) for s in shapes] for _, shapes in calls]
    outputs = [func(*ops) for (func, _), ops in zip(calls, operands)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for (func, _), ops, out in zip(calls, operands, outputs):
            func.overloadpacket.out(*ops, out=out)  # mm/bmm(a, b), addmm/baddbmm(bias, a, b)
        best = min(best, time.perf_counter() - started)
    return best


def gemm_flop(calls: list[Call]) -> float:
    """Floating-point operations of ``calls``: ``2 m k n`` per (batched) product."""
    return sum(2.0 * float(np.prod(shapes[-2])) * shapes[-1][-1] for _, shapes in calls)


class FloorAfterEachEpoch(Callback):
    """Replays each epoch's matrix products right after that epoch (same load, same threads)."""

    def __init__(self, gemms: dict[int, list[list[Call]]], repeats: int):
        self.gemms, self.repeats = gemms, repeats
        self.floor_seconds: dict[int, float] = {}
        self.generator = torch.Generator().manual_seed(0)  # the run's own streams stay untouched

    def on_epoch_end(self, event: EpochEnd) -> None:
        if event.epoch in self.gemms:
            steps = self.gemms[event.epoch]
            self.floor_seconds[event.epoch] = sum(replay_seconds(calls, self.repeats, self.generator) for calls in steps)


def train_only_profile(config: RunConfig, dataset, n: int) -> list[dict[str, object]]:
    """The ``n`` aten operators with the most self CPU time in one epoch's training steps (evaluation left out)."""
    def marked(*args, **kwargs):
        with record_function("evaluation"):
            return unmarked(*args, **kwargs)

    def in_evaluation(event) -> bool:
        while event is not None and event.name != "evaluation":
            event = event.cpu_parent
        return event is not None

    unmarked = loop.evaluate
    with mock.patch.object(loop, "evaluate", marked), profile(activities=[ProfilerActivity.CPU]) as prof:
        outcome = loop.train_run(config.with_overrides({"train.epochs": 1}).resolved(), dataset, device=torch.device("cpu"))
    totals: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for event in prof.events():
        if event.name.startswith("aten::") and not in_evaluation(event):
            totals[event.name] += event.self_cpu_time_total
            calls[event.name] += 1
    epoch = outcome.epoch_seconds[0]
    return [{"op": op, "calls": calls[op], "self_s": round(us / 1e6, 3), "share_of_epoch": round(us / 1e6 / epoch, 3)}
            for op, us in totals.most_common(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="late_fusion", choices=sorted(BACKBONES))
    parser.add_argument("--dataset", default="iemocap", choices=["iemocap", "meld"])
    parser.add_argument("--epochs", type=int, default=3, help="epochs 2.. are timed (the first warms up)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (both measurements)")
    parser.add_argument("--repeats", type=int, default=2, help="timed replays of each batch's products; the fastest counts")
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data (else $SPCL_DIAG_DATA, else ../shared/data)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also print the N costliest operators of one epoch")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data_dir: Path | None = resolve_data_dir(args.data_dir)
    except DataFormatError:
        data_dir = None  # a synthetic stand-in of the same size
    raw, origin = shaped_dataset(args.dataset, data_dir)
    config = RunConfig(dataset=f"{args.dataset}-shape", backbone=args.backbone, curriculum="spcl")
    config = config.with_overrides({"train.epochs": args.epochs}).resolved()
    dataset = prepare_dataset(raw, config.data, modalities=config.modalities, seed=config.seed)

    timed = range(2, args.epochs + 1)  # the first epoch warms up
    gemms = epoch_gemms(config, dataset, timed)
    floor = FloorAfterEachEpoch(gemms, args.repeats)
    load_before = os.getloadavg()[0]
    outcome = loop.train_run(config, dataset, device=torch.device("cpu"), callbacks=[floor])
    common = {"date": dt.date.today().isoformat(), "device": f"cpu ({platform.machine()}, {os.cpu_count()} cores)",
              "threads": torch.get_num_threads(), "torch": torch.__version__, "spcl_diag": __version__,
              "backbone": args.backbone, "dataset": args.dataset, "data": origin}
    ratios = []
    for e in timed:
        steps, seconds = gemms[e], outcome.epoch_seconds[e - 1]
        flop = sum(map(gemm_flop, steps))
        ratios.append(seconds / floor.floor_seconds[e])
        print(json.dumps({**common, "epoch": e, "steps": len(steps), "s_per_step": round(seconds / len(steps), 4),
                          "gemm_floor_s_per_step": round(floor.floor_seconds[e] / len(steps), 4),
                          "ratio": round(ratios[-1], 3), "gemm_calls_per_step": round(sum(map(len, steps)) / len(steps), 1),
                          "gemm_gflop_per_step": round(flop / len(steps) / 1e9, 2),
                          "floor_gflops": round(flop / floor.floor_seconds[e] / 1e9, 1)}), flush=True)
    print(json.dumps({**common, "summary": "median over the timed epochs", "ratio": round(statistics.median(ratios), 3),
                      "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}), flush=True)
    for row in train_only_profile(config, dataset, args.profile) if args.profile else []:
        print(json.dumps(row), flush=True)

if __name__ == "__main__":
    main()
