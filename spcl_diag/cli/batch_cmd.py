"""``spcl-diag batch GRID.toml --out DIR``: run or resume a grid of runs."""

from __future__ import annotations

import argparse
from typing import Any

EXECUTOR_NAMES = ("local", "process", "slurm", "ray")  # spcl_diag.batch.EXECUTORS, without importing torch
CLUSTERS = ("slurm", "local", "debug")  # spcl_diag.batch.executors.SUBMITIT_CLUSTERS
STACK_MODES = ("arms",)  # spcl_diag.batch.runner.STACK_MODES


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1, 2, ...); got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number >= 0 (CPUs or GPUs per run; fractions share a device)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text!r}")
    return value


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
    parser.add_argument("--executor", default=None, choices=EXECUTOR_NAMES,
                        help="where runs execute (default: process when --jobs > 1, else local)")
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="runs at once with the process executor; SLURM array parallelism (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default: %(default)s)")
    parser.add_argument("--retry-failed", action="store_true", help="train again the runs recorded as failed")
    parser.add_argument("--stack", choices=STACK_MODES, default=None,
                        help="arms: train the curriculum arms of each seed as one stacked model (one forward and "
                             "backward pass for all arms per step; the same run directories; fastest on a GPU)")
    parser.add_argument("--cluster", default="slurm", choices=CLUSTERS,
                        help="slurm executor: submit to SLURM (refused where there is none), or run the jobs "
                             "through submitit here: local (subprocesses) or debug (this process) (default: %(default)s)")
    parser.add_argument("--slurm-partition", default=None, help="SLURM partition (slurm executor)")
    parser.add_argument("--timeout-min", type=positive_int, default=60,
                        help="SLURM time limit per run in minutes (default: %(default)s)")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster address, e.g. auto or ray://host:10001 (ray executor; default: start a local one)")
    parser.add_argument("--cpus-per-run", type=positive_float, default=1.0,
                        help="CPUs each run asks Ray for (default: %(default)s)")
    parser.add_argument("--gpus-per-run", type=positive_float, default=None,
                        help="GPUs each run asks Ray for; fractions share a GPU (default: 1 for CUDA runs, else 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def executor_options(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The executor name and its keyword arguments from the command line."""
    name = args.executor or ("process" if args.jobs > 1 else "local")
    options: dict[str, Any] = {}
    if name == "process":
        options["jobs"] = args.jobs
    elif name == "slurm":
        options.update(cluster=args.cluster, timeout_min=args.timeout_min, slurm_array_parallelism=args.jobs)
        if args.slurm_partition:
            options["slurm_partition"] = args.slurm_partition
    elif name == "ray":
        options.update(address=args.ray_address, num_cpus=args.cpus_per_run, num_gpus=args.gpus_per_run)
    return name, options


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.batch import make_executor, run_batch  # torch: only when the command runs

    name, options = executor_options(args)
    executor = make_executor(name, **options)
    summary = run_batch(args.grid, args.out, executor=executor, device=args.device,
                        retry_failed=args.retry_failed, progress=not args.quiet, stack=args.stack)
    for outcome in summary.failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    print(summary.line())
    return 1 if summary.failed else 0
