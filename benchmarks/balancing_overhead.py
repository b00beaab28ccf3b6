"""Seconds per training epoch that each balancing method adds over ``none``.

Runs the full instrumented loop (``train_run``, arm ``none``) once per balancing method on the
same synthetic data and model, and reports the median ``wall_seconds`` of the training part
of the epochs after the first (the first epoch warms up), and its difference to ``none``.
Methods that cannot train the backbone are skipped. One JSON line per method on stdout.

    python benchmarks/balancing_overhead.py --device cpu --threads 1
    python benchmarks/balancing_overhead.py --backbone mmgcn --methods none ogm-ge agm
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics

import torch

from spcl_diag import RunConfig
from spcl_diag.config.schema import BALANCING_METHODS
from spcl_diag.data.registry import resolve_dataset
from spcl_diag.errors import ConfigError
from spcl_diag.train.loop import train_run

OVERRIDES = {
    "data.synthetic.n_dialogues": 80, "data.synthetic.min_length": 6, "data.synthetic.max_length": 24,
    "model.hidden_dim": 64, "model.feedforward_dim": 128, "train.batch_size": 16,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="late_fusion")
    p.add_argument("--modalities", default="tav")
    p.add_argument("--methods", nargs="+", default=list(BALANCING_METHODS))
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    base: float | None = None
    for method in args.methods:
        try:
            config = RunConfig(backbone=args.backbone, modalities=args.modalities, balancing=method).with_overrides(
                {**OVERRIDES, "train.epochs": args.epochs}).resolved()
        except ConfigError as err:
            print(json.dumps({"method": method, "skipped": str(err).splitlines()[-1].strip(" -")}))
            continue
        dataset = resolve_dataset(config.dataset, config.data, modalities=config.modalities)
        outcome = train_run(config, dataset, device=device)
        seconds = statistics.median(outcome.epoch_seconds[1:]) if len(outcome.epoch_seconds) > 1 else outcome.epoch_seconds[0]
        if method == "none":
            base = seconds
        print(json.dumps({
            "method": method, "backbone": args.backbone, "modalities": args.modalities, "s_per_epoch": round(seconds, 3),
            "added_s_per_epoch": None if base is None else round(seconds - base, 3),
            "device": str(device), "threads": args.threads, "torch": torch.__version__, "machine": platform.machine(),
        }), flush=True)


if __name__ == "__main__":
    main()
