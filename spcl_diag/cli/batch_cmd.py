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
    add_sequential_options(parser)
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


def add_sequential_options(parser: argparse.ArgumentParser) -> None:
    """The ``--until-decided`` options (:func:`spcl_diag.batch.sequential.run_until_decided`)."""
    group = parser.add_argument_group("sequential seeds (anytime-valid confidence sequences)")
    group.add_argument("--until-decided", action="store_true",
                       help="after the grid's seeds, add seeds to each comparison with the baseline until its "
                            "confidence sequence decides (better, worse, equivalent) or it has --max-seeds; "
                            "writes OUT/sequential.json")
    group.add_argument("--metric", default="test_wf1", help="the metric the decisions are about (default: %(default)s)")
    group.add_argument("--baseline", default="none", help="the arm compared with (default: %(default)s)")
    group.add_argument("--rope", type=positive_float, default=0.0,
                       help="half-width of practical equivalence in the metric's units, 0.01 = one point of F1 "
                            "(default: %(default)s: no equivalence decision)")
    group.add_argument("--max-seeds", type=positive_int, default=50,
                       help="most seeds per comparison (default: %(default)s)")
    group.add_argument("--seeds-per-round", type=positive_int, default=2,
                       help="seeds added per round to each undecided comparison (default: %(default)s)")
    group.add_argument("--bound", type=positive_float, default=1.0,
                       help="declared bound B of every paired difference, |arm - baseline| <= B (default: %(default)s, "
                            "which always holds for scores in [0, 1]; a smaller B decides sooner but is an assumption)")


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.batch import make_executor, run_batch  # torch: only when the command runs

    name, options = executor_options(args)
    executor = make_executor(name, **options)
    if args.until_decided:
        return handle_until_decided(args, executor)
    summary = run_batch(args.grid, args.out, executor=executor, device=args.device,
                        retry_failed=args.retry_failed, progress=not args.quiet, stack=args.stack)
    for outcome in summary.failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    print(summary.line())
    return 1 if summary.failed else 0


def handle_until_decided(args: argparse.Namespace, executor: Any) -> int:
    from spcl_diag.batch.sequential import run_until_decided

    result = run_until_decided(args.grid, args.out, metric=args.metric, baseline=args.baseline, rope=args.rope,
                               max_seeds=args.max_seeds, seeds_per_round=args.seeds_per_round,
                               bounds=(-args.bound, args.bound), executor=executor, device=args.device,
                               retry_failed=args.retry_failed, progress=not args.quiet, stack=args.stack)
    failed = [o for r in result.rounds for o in r.failed]
    for outcome in failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    for c in result.comparisons:
        cell = "/".join(str(c[k]) for k in ("dataset", "backbone", "modalities", "balancing"))
        print(f"{cell} {c['arm']} - {c['baseline']}: {c['decision']} after {c['n_seeds']} seeds, "
              f"anytime-valid interval [{c['low']:+.4f}, {c['high']:+.4f}]")
    print(result.line() + f"; rounds in {result.path}")
    return 1 if failed else 0
