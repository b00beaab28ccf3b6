"""``spcl-diag batch GRID.toml --out DIR``: run or resume a grid of runs (:func:`spcl_diag.run_batch`).

``--dry-run`` lists what the grid expands to instead (:func:`spcl_diag.plan_batch`);
``--until-decided`` adds seeds until each comparison decides (:func:`spcl_diag.run_until_decided`).
"""

from __future__ import annotations

import argparse
from typing import Any

from spcl_diag.cli.options import (
    add_device_option,
    add_jobs_option,
    add_probe_log_options,
    positive_float,
    positive_int,
)

EXECUTOR_NAMES = ("local", "process", "slurm", "ray")  # spcl_diag.batch.EXECUTORS, without importing torch
CLUSTERS = ("slurm", "local", "debug")  # spcl_diag.batch.executors.SUBMITIT_CLUSTERS
STACK_MODES = ("arms",)  # spcl_diag.batch.runner.STACK_MODES


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
    parser.add_argument("--out", default="runs", help="folder of run directories to write into (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the runs the grid expands to, per cell and arm, and which are already done in "
                             "--out; train nothing")
    parser.add_argument("--executor", default=None, choices=EXECUTOR_NAMES,
                        help="where runs execute (default: process when --jobs > 1, else local)")
    add_jobs_option(parser)
    add_device_option(parser)
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
    add_probe_log_options(parser)
    add_sequential_options(parser)
    # a logger's optional package that is missing is the user's to install (the message names the extra)
    parser.set_defaults(handler=handle, user_errors=(ImportError,))


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


def executor_argument(args: argparse.Namespace) -> Any:
    """``executor=`` of the call: the name where ``jobs=`` says the rest, else the executor its flags build."""
    name, options = executor_options(args)
    if name in ("local", "process"):
        return name
    from spcl_diag.batch import make_executor  # submitit, ray: only when chosen

    return make_executor(name, **options)


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
    group.add_argument("--bound", dest="bounds", type=positive_float, default=1.0,
                       help="declared bound B of every paired difference, |arm - baseline| <= B (default: %(default)s, "
                            "which always holds for scores in [0, 1]; a smaller B decides sooner but is an assumption)")


def handle(args: argparse.Namespace) -> int:
    if args.dry_run:
        from spcl_diag.batch.runner import plan_batch  # reads configs and folders only: no torch

        plan = plan_batch(args.grid, args.out, retry_failed=args.retry_failed)
        print(plan.table())
        print(plan.line())
        return 0
    if args.until_decided:
        return handle_until_decided(args)
    from spcl_diag.batch.runner import run_batch

    summary = run_batch(args.grid, args.out, executor=executor_argument(args), jobs=args.jobs, device=args.device,
                        retry_failed=args.retry_failed, progress=not args.quiet, stack=args.stack,
                        probe=args.probe, log=args.log)
    for outcome in summary.failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    print(summary.line())
    return 1 if summary.failed else 0


def handle_until_decided(args: argparse.Namespace) -> int:
    from spcl_diag.batch.sequential import run_until_decided

    result = run_until_decided(args.grid, args.out, metric=args.metric, baseline=args.baseline, rope=args.rope,
                               max_seeds=args.max_seeds, seeds_per_round=args.seeds_per_round,
                               bounds=(-args.bounds, args.bounds), executor=executor_argument(args), jobs=args.jobs,
                               device=args.device, retry_failed=args.retry_failed, progress=not args.quiet,
                               stack=args.stack, probe=args.probe, log=args.log)
    failed = [o for r in result.rounds for o in r.failed]
    for outcome in failed:
        print(f"failed {outcome.run_id}: {outcome.message}")
    for c in result.comparisons:
        cell = "/".join(str(c[k]) for k in ("dataset", "backbone", "modalities", "balancing"))
        print(f"{cell} {c['arm']} - {c['baseline']}: {c['decision']} after {c['n_seeds']} seeds, "
              f"anytime-valid interval [{c['low']:+.4f}, {c['high']:+.4f}]")
    print(result.line() + f"; rounds in {result.path}")
    return 1 if failed else 0
