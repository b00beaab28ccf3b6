"""``spcl-diag data``: inspect, validate and convert feature files and benchmarks.

* ``data inspect PATH|BENCHMARK``: format, dialogues and utterances per split, feature
  dimensions, label histogram, speakers (``--json`` for the raw summary);
* ``data validate PATH``: load with every check and report OK or the problems;
* ``data convert PATH OUT.npz``: write the file as a plain ``.npz`` bundle (no pickle).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from spcl_diag.data.dataset import SPLITS, ConversationDataset
from spcl_diag.data.loaders import FORMATS, load, read_file, write_bundle
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
        action.add_argument("--no-cache", action="store_true", help="parse pickles again, bypassing the .npz cache")
    inspect.add_argument("--data-dir", default=None, help="shared data folder, for benchmark names")


def _dataset(args: argparse.Namespace) -> ConversationDataset:
    if args.source in BENCHMARKS:
        from spcl_diag.data.config import DataConfig

        return BENCHMARKS[args.source](DataConfig(data_dir=args.data_dir))
    return load(args.source, args.format, cache=not args.no_cache)


def format_summary(dataset: ConversationDataset) -> str:
    """A human-readable summary of ``dataset`` (what ``data inspect`` prints)."""
    s: dict[str, Any] = dataset.summary()
    lines = [f"{s['name']}: format {s['format']}, {dataset.n_dialogues} dialogues, {dataset.n_utterances} utterances"]
    dims = ", ".join(f"{m} {d}" for m, d in dataset.dims.items()) or "none (labels only)"
    lines.append(f"  modalities: {dims}")
    for split in SPLITS:
        counts = s["splits"][split]
        lines.append(f"  {split:5s}: {counts['dialogues']:5d} dialogues, {counts['utterances']:6d} utterances")
    lines.append(f"  dev set: {_dev_text(dataset.dev_origin)}")
    total = max(1, dataset.n_utterances)
    labels = ", ".join(f"{name} {n} ({100 * n / total:.1f}%)" for name, n in s["labels"].items())
    lines.append(f"  labels: {labels}")
    lines.append(f"  speakers: {s['n_speakers']} speaker slots; dialogue length max {s['max_dialogue_length']}, "
                 f"mean {dataset.lengths.mean():.1f}")
    return "\n".join(lines)


def _dev_text(origin: str) -> str:
    return {"file": "as given by the data", "fixed": "the first share of the training dialogues (fixed)",
            "seeded": "drawn at random from the training dialogues (seeded)"}.get(origin, origin)


def handle_inspect(args: argparse.Namespace) -> int:
    dataset = _dataset(args)
    print(json.dumps(dataset.summary(), indent=2) if args.json else format_summary(dataset))
    return 0


def handle_validate(args: argparse.Namespace) -> int:
    dataset = load(args.source, args.format, cache=not args.no_cache)
    print(f"OK: {Path(args.source).name} is a valid {dataset.source_format} file "
          f"({dataset.n_dialogues} dialogues, {dataset.n_utterances} utterances).")
    return 0


def handle_convert(args: argparse.Namespace) -> int:
    dataset = read_file(args.source, args.format, cache=not args.no_cache)
    out = write_bundle(dataset, args.out)
    print(f"wrote {out} ({dataset.source_format} -> npz; {dataset.n_dialogues} dialogues, "
          f"modalities {dataset.modalities or 'none'}; splits as in the file)")
    return 0
