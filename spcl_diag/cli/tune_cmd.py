"""``spcl-diag tune GRID.toml``: choose configs on tuning seeds, evaluate them on fresh seeds."""

from __future__ import annotations

import argparse


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
    parser.add_argument("--out", default="runs", help="folder of run directories (default: %(default)s)")
    parser.add_argument("--tune-seeds", type=int, default=5, help="(default: %(default)s)")
    parser.add_argument("--eval-seeds", type=int, default=10, help="(default: %(default)s)")
    parser.add_argument("--select", default="dev_wf1", help="dev metric the choice optimises (default: %(default)s)")
    parser.add_argument("--baseline", default="none", help="baseline arm of the final comparison (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="(default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import numpy as np

    from spcl_diag.batch import make_executor
    from spcl_diag.batch.tune import tune
    from spcl_diag.runs.loading import load_runs
    from spcl_diag.stats.comparison import compare
    from spcl_diag.stats.tables import format_table

    executor = make_executor("process", jobs=args.jobs) if args.jobs > 1 else make_executor("local")
    result = tune(args.grid, args.out, tune_seeds=args.tune_seeds, eval_seeds=args.eval_seeds, select=args.select,
                  executor=executor, device=args.device, progress=not args.quiet)
    def cell(entry: dict) -> str:
        return "/".join(str(entry[k]) for k in ("dataset", "backbone", "modalities")) + f" (balancing {entry['balancing']})"

    for choice in result.choices:
        mean = ("" if choice["dev_mean"] is None
                else f" ({args.select} {choice['dev_mean']:.4f} over {choice['n_seeds']} tuning seeds)")
        print(f"{cell(choice)} arm {choice['arm']}: {choice['overrides']}{mean}"
              f"{' - ' + choice['note'] if choice.get('note') else ''}")
    for entry in result.record["dev_means"]:
        if entry.get("note"):
            print(f"note: {cell(entry)} arm {entry['arm']} candidate {entry['overrides']}: {entry['note']}")
    for entry in result.record["not_chosen"]:
        print(f"{cell(entry)} arm {entry['arm']}: nothing chosen ({entry['reason']})")
    results = load_runs(args.out).results
    evaluation = results[results["run_id"].isin(result.record["eval_run_ids"])]
    metric = args.select.replace("dev_", "test_", 1)
    arms = sorted(set(evaluation["curriculum"]))
    if args.baseline in arms and len(arms) > 1:
        print(f"\n{metric} on the {len(result.eval_seeds)} evaluation seeds only:")
        print(format_table(compare(evaluation, metric, baseline=args.baseline, rng=np.random.default_rng(0))))
    print(f"wrote {result.path}")
    return 0
