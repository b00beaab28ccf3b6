"""``spcl-diag tune GRID.toml``: choose configs on tuning seeds, evaluate them on fresh seeds (:func:`spcl_diag.tune`)."""

from __future__ import annotations

import argparse

from spcl_diag.cli.options import add_device_option, add_jobs_option, add_rng_option, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="choose each arm's config from [axes] on tuning seeds, then train it on disjoint evaluation seeds",
        description=(
            "Trains every [axes] candidate on --tune-seeds seeds, chooses per cell and arm by the mean of --select, "
            "trains the choices on --eval-seeds fresh seeds and compares the arms on those only. Writes OUT/tune.json."
        ),
    )
    parser.add_argument("grid", help="tuning grid (TOML) with an [axes] table of candidate values")
    parser.add_argument("--out", default="runs", help="folder of run directories to write into (default: %(default)s)")
    parser.add_argument("--tune-seeds", type=positive_int, default=5, help="(default: %(default)s)")
    parser.add_argument("--eval-seeds", type=positive_int, default=10, help="(default: %(default)s)")
    parser.add_argument("--select", default="dev_wf1", help="dev metric the choice optimises (default: %(default)s)")
    parser.add_argument("--baseline", default="none", help="baseline arm of the final comparison (default: %(default)s)")
    add_rng_option(parser)
    add_jobs_option(parser)
    add_device_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def _cell(entry: dict) -> str:
    return "/".join(str(entry[k]) for k in ("dataset", "backbone", "modalities")) + f" (balancing {entry['balancing']})"


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.batch.tune import tune
    from spcl_diag.stats.tables import format_table

    result = tune(args.grid, args.out, tune_seeds=args.tune_seeds, eval_seeds=args.eval_seeds, select=args.select,
                  baseline=args.baseline, rng=args.rng, jobs=args.jobs, device=args.device, progress=not args.quiet)
    for choice in result.choices:
        mean = ("" if choice["dev_mean"] is None
                else f" ({args.select} {choice['dev_mean']:.4f} over {choice['n_seeds']} tuning seeds)")
        print(f"{_cell(choice)} arm {choice['arm']}: {choice['overrides']}{mean}"
              f"{' - ' + choice['note'] if choice.get('note') else ''}")
    for entry in result.record["dev_means"]:
        if entry.get("note"):
            print(f"note: {_cell(entry)} arm {entry['arm']} candidate {entry['overrides']}: {entry['note']}")
    for entry in result.record["not_chosen"]:
        print(f"{_cell(entry)} arm {entry['arm']}: nothing chosen ({entry['reason']})")
    if result.comparison is not None:
        print(f"\n{result.metric} on the {len(result.eval_seeds)} evaluation seeds only:")
        print(format_table(result.comparison))
    print(f"wrote {result.path}")
    return 0
