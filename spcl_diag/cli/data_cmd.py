"""``spcl-diag data``: inspect, validate and convert feature files and benchmarks.

* ``data inspect PATH|BENCHMARK``: format, dialogues and utterances per split, feature
  dimensions, label histogram, speakers (``--json`` for the raw summary);
  :func:`spcl_diag.inspect_data`;
* ``data validate PATH``: load with every check and report OK or the problems;
  :func:`spcl_diag.validate_data`;
* ``data convert PATH OUT.npz``: write the file as a plain ``.npz`` bundle (no pickle);
  :func:`spcl_diag.convert_data`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spcl_diag.data.loaders import FORMATS
from spcl_diag.data.registry import BENCHMARKS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="inspect, validate and convert feature files",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    inspect = actions.add_parser("inspect", help="summarise a feature file or a benchmark")
    inspect.add_argument("source", help="feature file or benchmark name (" + ", ".join(BENCHMARKS) + ")")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.set_defaults(handler=handle_inspect)

    validate = actions.add_parser("validate", help="load a feature file with every check")
    validate.add_argument("source", help="feature file")
    validate.set_defaults(handler=handle_validate)

    convert = actions.add_parser("convert", help="convert a feature file to a plain .npz bundle")
    convert.add_argument("source", help="feature file")
    convert.add_argument("out", help="output .npz path")
    convert.set_defaults(handler=handle_convert)

    for action in (inspect, validate, convert):
        action.add_argument("--format", default=None, choices=sorted(FORMATS), help="file format (default: detect)")
        action.add_argument("--no-cache", dest="cache", action="store_false",
                            help="parse pickles again, bypassing the .npz cache")
    inspect.add_argument("--data-dir", default=None, help="shared data folder, for benchmark names")


def handle_inspect(args: argparse.Namespace) -> int:
    from spcl_diag.data.inspection import inspect_data

    found = inspect_data(args.source, format=args.format, cache=args.cache, data_dir=args.data_dir)
    print(json.dumps(found.summary, indent=2) if args.json else str(found))
    return 0


def handle_validate(args: argparse.Namespace) -> int:
    from spcl_diag.data.inspection import validate_data

    dataset = validate_data(args.source, format=args.format, cache=args.cache)
    print(f"OK: {Path(args.source).name} is a valid {dataset.source_format} file "
          f"({dataset.n_dialogues} dialogues, {dataset.n_utterances} utterances).")
    return 0


def handle_convert(args: argparse.Namespace) -> int:
    from spcl_diag.data.inspection import convert_data

    dataset, out = convert_data(args.source, args.out, format=args.format, cache=args.cache)
    print(f"wrote {out} ({dataset.source_format} -> npz; {dataset.n_dialogues} dialogues, "
          f"modalities {dataset.modalities or 'none'}; splits as in the file)")
    return 0
