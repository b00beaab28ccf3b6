"""Command-line options shared by the sub-commands that build run configurations."""

from __future__ import annotations

import argparse

from spcl_diag.config.schema import BALANCING_METHODS, RunConfig, TrainConfig
from spcl_diag.plugins import plugin_module


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The plain flags of the common config fields, plus ``--set key=value`` overrides.

    Backbone and curriculum names are checked when the config is built (an unknown one is an
    error that lists the valid ones), which keeps ``--help`` free of torch.
    """
    defaults = {f: getattr(RunConfig, f) for f in ("dataset", "backbone", "modalities", "curriculum", "seed")}
    parser.add_argument("--dataset", default=defaults["dataset"], help="benchmark name or feature file (default: %(default)s)")
    parser.add_argument("--backbone", default=defaults["backbone"],
                        help="late_fusion, dialogue_gcn, mmgcn, mm_dfn, biddin, ada2i, or one a plugin registers (default: %(default)s)")
    parser.add_argument("--modalities", default=defaults["modalities"], help="modality set, e.g. tav, ta, v (default: %(default)s)")
    parser.add_argument("--curriculum", default=defaults["curriculum"],
                        help="curriculum arm: none, spcl, random, anti, spcl-utterance, ... (default: %(default)s)")
    parser.add_argument("--balancing", default=RunConfig.balancing, choices=BALANCING_METHODS, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults["seed"], help="run seed, an integer >= 0 (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help=f"training epochs (default: {TrainConfig.epochs})")
    parser.add_argument("--data-dir", default=None, help="folder of the shared data (else $SPCL_DIAG_DATA, else ../shared/data)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (default: %(default)s)")


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

    Flags left at ``None`` keep the value of ``base`` (a config file's; the defaults without
    one); ``--plugin`` modules are added to the base's plugins.
    """
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
