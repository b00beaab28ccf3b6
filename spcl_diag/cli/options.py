"""Command-line options shared by the sub-commands: the run-config flags and the one vocabulary of the rest."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from spcl_diag.config.file import read_config_file
from spcl_diag.config.schema import BALANCING_METHODS, RunConfig, TrainConfig
from spcl_diag.plugins import plugin_module

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The plain flags of the common config fields, plus ``--set key=value`` overrides.

    Backbone, curriculum and balancing names are checked when the config is built, after the
    ``--plugin`` modules are imported (an unknown one is an error that suggests the nearest
    name), which keeps ``--help`` free of torch.
    """
    defaults = {f: getattr(RunConfig, f) for f in ("dataset", "backbone", "modalities", "curriculum", "seed")}
    parser.add_argument("--dataset", default=defaults["dataset"], help="benchmark name or feature file (default: %(default)s)")
    parser.add_argument("--backbone", default=defaults["backbone"],
                        help="late_fusion, dialogue_gcn, mmgcn, mm_dfn, biddin, ada2i, or one a plugin registers (default: %(default)s)")
    parser.add_argument("--modalities", default=defaults["modalities"], help="modality set, e.g. tav, ta, v (default: %(default)s)")
    parser.add_argument("--curriculum", default=defaults["curriculum"],
                        help="curriculum arm: none, spcl, random, anti, spcl-utterance, ... (default: %(default)s)")
    # no argparse choices: the config check names a method a plugin registers and suggests the nearest name
    parser.add_argument("--balancing", default=RunConfig.balancing,
                        help=f"gradient balancing: {', '.join(BALANCING_METHODS)}, or one a plugin registers "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults["seed"], help="run seed, an integer >= 0 (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help=f"training epochs (default: {TrainConfig.epochs})")
    parser.add_argument("--data-dir", default=None, help="folder of the shared data (else $SPCL_DIAG_DATA, else ../shared/data)")
    add_device_option(parser)


def split_overrides(extra: list[str]) -> list[str]:
    """Turn leftover ``--train.lr=3e-4`` / ``--train.lr 3e-4`` arguments into ``key=value``."""
    overrides, i = [], 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or len(token) == 2:
            raise SystemExit(f"spcl-diag: unexpected argument {token!r}; overrides look like --train.lr=3e-4")
        token = token[2:]
        if "=" not in token:
            if i + 1 >= len(extra):
                raise SystemExit(f"spcl-diag: override --{token} needs a value")
            token, i = f"{token}={extra[i + 1]}", i + 1
        overrides.append(token)
        i += 1
    return overrides


def config_from_args(args: argparse.Namespace, overrides: list[str], base: RunConfig | None = None) -> RunConfig:
    """A :class:`RunConfig` from the plain flags and the dotted overrides.

    Flags left at ``None`` keep the value of ``base`` (the ``--config`` file's when there is
    one; the defaults without); ``--plugin`` modules are added to the base's plugins.
    """
    if base is None and getattr(args, "config", None) is not None:
        base = read_config_file(args.config)
    base = base or RunConfig()
    names = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")
    values: dict[str, object] = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.epochs is not None:
        values["train.epochs"] = args.epochs
    if args.data_dir is not None:
        values["data.data_dir"] = args.data_dir
    if getattr(args, "plugin", None):
        values["plugins"] = list(dict.fromkeys([*base.plugins, *map(plugin_module, args.plugin)]))
    config = base.with_overrides(values) if values else base
    return config.with_overrides(overrides) if overrides else config


# ---- one vocabulary: the options every command that has them spells and checks the same way ----

DEFAULT_DPI = 150  # every figure file of every command (PNG; PDF and SVG are vector)
DEFAULT_FORMATS = "png,pdf"
FIGURE_FORMATS = ("png", "pdf", "svg")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--jobs`` of every command, seed counts)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1, 2, ...); got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number >= 0 (CPUs or GPUs per run, a ROPE, a bound)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text!r}")
    return value


def figure_formats(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated figure formats, each one of :data:`FIGURE_FORMATS`."""
    formats = tuple(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"formats are a comma-separated list of {', '.join(FIGURE_FORMATS)}; got {text!r}")
    return formats


class DeprecatedFlag(argparse.Action):
    """An old spelling that keeps working for one release: stores into the new flag's dest and warns.

    The warning (a ``FutureWarning``, which Python shows by default) is issued while parsing;
    :func:`spcl_diag.cli.main.main` prints it as one line.
    """

    def __init__(self, option_strings: list[str], dest: str, *, new: str, note: str = "", **kwargs: object) -> None:
        self.new, self.note = new, note
        super().__init__(option_strings, dest, **kwargs)  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        warnings.warn(f"{option_string} is deprecated{self.note}; use {self.new} (the old spelling works until "
                      "the next release).", FutureWarning, stacklevel=2)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def add_rng_option(parser: argparse.ArgumentParser, *, old_seed: bool = False) -> None:
    """``--rng-seed N`` (dest ``rng``): the seed of the statistics' ``numpy`` Generator, as
    ``rng=`` of the Python function; ``old_seed`` keeps the old ``--seed`` spelling with a warning."""
    parser.add_argument("--rng-seed", dest="rng", type=int, default=0, metavar="N",
                        help="seed of the statistics' random generator (bootstrap, ASO, permutations), "
                             "as rng= in Python (default: %(default)s)")
    if old_seed:
        parser.add_argument("--seed", dest="rng", type=int, action=DeprecatedFlag, new="--rng-seed",
                            note=" here (it is the statistics' seed, not a run seed)", help=argparse.SUPPRESS)


def add_jobs_option(parser: argparse.ArgumentParser, *, default: int = 1) -> None:
    """``--jobs N``: runs at once in worker processes (the process executor when N > 1)."""
    parser.add_argument("--jobs", type=positive_int, default=default,
                        help="runs at once in worker processes (default: %(default)s)")


LOGGER_NAMES = ("tensorboard", "wandb", "mlflow")  # spcl_diag.train.callbacks.LOGGERS, without importing torch


def add_probe_log_options(parser: argparse.ArgumentParser) -> None:
    """``--probe`` and ``--log NAME...`` of every command that trains, as ``probe=`` and ``log=`` of its function."""
    parser.add_argument("--probe", action="store_true", help="fit linear probes on the selected model (probe.json)")
    parser.add_argument("--log", nargs="+", default=[], choices=LOGGER_NAMES,
                        help="experiment loggers (optional extras); tensorboard writes into the run directory")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device``: ``auto`` (a GPU when there is one) everywhere."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (default: %(default)s)")


def add_figure_options(parser: argparse.ArgumentParser, *, formats: bool = False) -> None:
    """``--dpi`` (and, where a command writes a set of figures, ``--formats``), the same everywhere."""
    parser.add_argument("--dpi", type=positive_int, default=DEFAULT_DPI,
                        help="resolution of PNG figures (default: %(default)s)")
    if formats:
        parser.add_argument("--formats", type=figure_formats, default=figure_formats(DEFAULT_FORMATS),
                            help=f"comma-separated figure formats, of {', '.join(FIGURE_FORMATS)} "
                                 f"(default: {DEFAULT_FORMATS})")


def save_figure(figure: Figure, path: Path, *, dpi: int) -> Path:
    """Write ``figure`` to ``path`` (its suffix is the format) at ``dpi``, close it, return the path."""
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return path
