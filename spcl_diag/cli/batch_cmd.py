"""``spcl-diag batch GRID.toml --out DIR``: run or resume a grid of runs."""

from __future__ import annotations

import argparse
from typing import Any

from spcl_diag.batch import EXECUTORS, make_executor, run_batch


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="run (or resume) a grid of runs from a TOML file",
        description=(
            "Run every run of GRID.toml into --out, skipping finished runs; a failed run is "
            "recorded (error.txt) and the batch goes on. Safe to re-run after a crash and to run "
            "twice at once on the same folder (one lock file per run id)."
        ),
    )
    parser.add_argument("grid", help="grid file (TOML): axes dataset, backbone, modalities, curriculum, seed, ...")
    parser.add_argument("--out", default="runs", help="folder of run directories (default: %(default)s)")
    parser.add_argument("--executor", default=None, choices=EXECUTORS,
                        help="where runs execute (default: process when --jobs > 1, else local)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once with the process executor (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default: %(default)s)")
    parser.add_argument("--retry-failed", action="store_true", help="train again the runs recorded as failed")
    parser.add_argument("--slurm-partition", default=None, help="SLURM partition (slurm executor)")
    parser.add_argument("--timeout-min", type=int, default=60, help="SLURM time limit per run in minutes (default: %(default)s)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (ray executor; default: start a local one)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    name = args.executor or ("process" if args.jobs > 1 else "local")
    options: dict[str, Any] = {}
    if name == "process":
        options["jobs"] = args.jobs
    elif name == "slurm":
        options.update(timeout_min=args.timeout_min, slurm_array_parallelism=max(args.jobs, 1))
        if args.slurm_partition:
            options["slurm_partition"] = args.slurm_partition
    elif name == "ray":
        options["address"] = args.ray_address
    executor = make_executor(name, **options)
    summary = run_batch(args.grid, args.out, executor=executor, device=args.device,
                        retry_failed=args.retry_failed, progress=not args.quiet)
    for outcome in summary.failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    print(summary.line())
    return 1 if summary.failed else 0
