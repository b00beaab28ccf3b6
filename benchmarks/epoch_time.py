"""Seconds per training epoch and parameter count of each backbone on IEMOCAP-shaped data.

Synthetic dialogues with the IEMOCAP feature widths (t 768, a 512, v 1024), 151 dialogues of
20..110 utterances of which about 120 train, default hyperparameters, batch 16, Adam and the
reference clipping. One untimed warm-up batch, then one timed epoch of forward, backward,
clipping and optimiser step. One JSON line per (backbone, modality set) on stdout.

    python benchmarks/epoch_time.py --device cpu --threads 2
    python benchmarks/epoch_time.py --device cuda --backbones mmgcn mm_dfn --modalities tav av
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from spcl_diag.data.batching import DeviceSplit
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.models import BACKBONES, build_backbone
from spcl_diag.train.loop import has_fused_adam

IEMOCAP_SHAPES = SyntheticConfig(
    n_dialogues=151,
    min_length=20,
    max_length=110,
    dims={"t": 768, "a": 512, "v": 1024},
    informativeness={"t": 1.0, "a": 0.55, "v": 0.3},
    split_fractions=(0.8, 0.05, 0.15),
    seed=0,
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_epoch(name: str, modalities: str, split: DeviceSplit, dims: dict[str, int], n_classes: int,
               n_speakers: int, *, device: torch.device, batch_size: int, seed: int) -> dict[str, object]:
    """Build ``name`` with default settings and time one training epoch over ``split``."""
    torch.manual_seed(seed)
    model = build_backbone(name, modalities=modalities, dims=dims, n_classes=n_classes, n_speakers=n_speakers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, weight_decay=1e-8, fused=has_fused_adam(device))
    order = np.random.default_rng(seed).permutation(split.n_dialogues)

    def step(batch) -> None:
        output = model(batch)
        loss = F.cross_entropy(output.joint, batch.labels)
        if output.auxiliary_loss is not None:
            loss = loss + output.auxiliary_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()

    model.train()
    step(next(split.batches(order[:batch_size], batch_size)))  # warm-up (allocations, kernels)
    _sync(device)
    started = time.perf_counter()
    for batch in split.batches(order, batch_size):
        step(batch)
    _sync(device)
    return {
        "backbone": name,
        "modalities": modalities,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "epoch_seconds": round(time.perf_counter() - started, 3),
        "train_dialogues": split.n_dialogues,
        "train_utterances": split.n_utterances,
        "batch_size": batch_size,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=sorted(BACKBONES), choices=sorted(BACKBONES))
    parser.add_argument("--modalities", nargs="+", default=["tav"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = make_synthetic(IEMOCAP_SHAPES)
    split = DeviceSplit(data, "train", device)
    for modalities in args.modalities:
        for name in args.backbones:
            row = time_epoch(name, modalities, split, data.dims, data.n_classes, data.n_speakers,
                             device=device, batch_size=args.batch_size, seed=args.seed)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
