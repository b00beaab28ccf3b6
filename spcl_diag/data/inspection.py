"""What ``spcl-diag data`` does, as functions: inspect, validate and convert feature files.

* :func:`inspect_data`: a feature file or a built-in benchmark summarised (format, dialogues
  and utterances per split, feature dimensions, label histogram, speakers);
* :func:`validate_data`: a feature file loaded with every check (a
  :class:`~spcl_diag.errors.DataFormatError` lists every problem);
* :func:`convert_data`: a feature file written as a plain ``.npz`` bundle (no pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spcl_diag.data.dataset import SPLITS, ConversationDataset
from spcl_diag.data.loaders import load, read_file, write_bundle
from spcl_diag.data.registry import BENCHMARKS

DEV_ORIGINS: dict[str, str] = {
    "file": "as given by the data",
    "fixed": "the first share of the training dialogues (fixed)",
    "seeded": "drawn at random from the training dialogues (seeded)",
}


@dataclass(frozen=True)
class DataInspection:
    """A dataset and its summary; ``str()`` is what ``spcl-diag data inspect`` prints."""

    dataset: ConversationDataset
    summary: dict[str, Any]  # ConversationDataset.summary(), what --json prints

    def __str__(self) -> str:
        dataset, s = self.dataset, self.summary
        lines = [f"{s['name']}: format {s['format']}, {dataset.n_dialogues} dialogues, {dataset.n_utterances} utterances"]
        dims = ", ".join(f"{m} {d}" for m, d in dataset.dims.items()) or "none (labels only)"
        lines.append(f"  modalities: {dims}")
        for split in SPLITS:
            counts = s["splits"][split]
            lines.append(f"  {split:5s}: {counts['dialogues']:5d} dialogues, {counts['utterances']:6d} utterances")
        lines.append(f"  dev set: {DEV_ORIGINS.get(dataset.dev_origin, dataset.dev_origin)}")
        total = max(1, dataset.n_utterances)
        labels = ", ".join(f"{name} {n} ({100 * n / total:.1f}%)" for name, n in s["labels"].items())
        lines.append(f"  labels: {labels}")
        lines.append(f"  speakers: {s['n_speakers']} speaker slots; dialogue length max {s['max_dialogue_length']}, "
                     f"mean {dataset.lengths.mean():.1f}")
        return "\n".join(lines)


def inspect_data(
    source: str | Path, *, format: str | None = None, cache: bool = True, data_dir: str | Path | None = None
) -> DataInspection:
    """Summarise a feature file or a built-in benchmark (``synthetic``, ...).

    Parameters
    ----------
    source
        A feature file, or the name of a benchmark of :data:`~spcl_diag.data.registry.BENCHMARKS`.
    format
        The file format (default: detected from the file).
    cache
        Use the ``.npz`` cache of parsed pickles (``False`` parses again).
    data_dir
        The shared data folder, for benchmark names that read one.

    Examples
    --------
    >>> print(str(inspect_data("synthetic")).splitlines()[1])
      modalities: t 32, a 24, v 16
    """
    if str(source) in BENCHMARKS:
        from spcl_diag.data.config import DataConfig

        dataset = BENCHMARKS[str(source)](DataConfig(data_dir=None if data_dir is None else str(data_dir)))
    else:
        dataset = load(source, format, cache=cache)
    return DataInspection(dataset, dataset.summary())


def validate_data(source: str | Path, *, format: str | None = None, cache: bool = True) -> ConversationDataset:
    """Load a feature file with every check and return it.

    Raises
    ------
    DataFormatError
        Listing every problem found, each with its dialogue and field.
    """
    return load(source, format, cache=cache)


def convert_data(source: str | Path, out: str | Path, *, format: str | None = None,
                 cache: bool = True) -> tuple[ConversationDataset, Path]:
    """Write a feature file as a plain ``.npz`` bundle (splits as in the file); the dataset and the file."""
    dataset = read_file(source, format, cache=cache)
    return dataset, write_bundle(dataset, out)
