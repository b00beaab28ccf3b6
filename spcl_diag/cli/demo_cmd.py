"""``spcl-diag demo``: the small seeded synthetic batch, with a per-arm summary, figures and a report (:func:`spcl_diag.run_demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from spcl_diag.cli.options import add_device_option, add_jobs_option, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a small seeded batch on the synthetic benchmark (CPU, about a minute)",
        description="Late fusion, tav, arms none/spcl/random, seeds 0..N-1 on the synthetic benchmark.",
    )
    parser.add_argument("--out", default="demo_runs", help="folder of run directories to write into (default: %(default)s)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="number of seeds (default: %(default)s)")
    add_device_option(parser)
    add_jobs_option(parser, default=2)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.demo import run_demo  # torch, pandas: only when the command runs

    demo = run_demo(args.out, seeds=args.seeds, device=args.device, jobs=args.jobs)
    print(f"\nTest scores per arm over {args.seeds} seeds (mean and sd):")
    print(demo.summary.round(4).to_string())
    out, figures = shown(args.out), shown(demo.report.with_name("report_figures"))
    print(f"\n{len(demo.tables.results)} runs in {out} ({demo.seconds:.0f} s)")
    print(f"Report: {shown(demo.report)} (figures in {figures})")
    print(f"Load the runs with: spcl_diag.load_runs({out!r})")
    return 0


def shown(path: str | Path) -> str:
    """``path`` as the user would type it here: relative to the current folder when inside it, else absolute."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)
