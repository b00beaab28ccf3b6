"""Experiment grids: the axes of a batch, their expansion into run configs, and seed derivation.

A grid names the values of each axis; the batch is their Cartesian product:

========================  ==================================================================
``dataset``               benchmark names or feature files
``backbone``              names from :data:`spcl_diag.models.BACKBONES`
``modalities``            modality sets (``"tav"``, ``"ta"``, ...)
``curriculum``            arms (``"none"``, ``"spcl"``, ``"random"``, ...)
``balancing``             gradient balancing methods
``seed``                  the run seeds (see below)
``variants``              the overrides axis: a list of override tables, one per setting
                          (``[{"pacing.normalisation": "batch"}, {"pacing.normalisation": "kept"}]``)
``overrides``             one override table applied to every run (``{"train.epochs": 20}``)
``axes``                  lists of values for any config field (``{"train.lr": [1e-3, 3e-4]}``);
                          each arm takes the product over the fields it uses only (see
                          :mod:`spcl_diag.runs.sweep`)
``plugins``               modules imported first, e.g. one registering a backbone
                          (:mod:`spcl_diag.plugins`); every run of the grid names them
========================  ==================================================================

Seeds. The values of the ``seed`` axis *are* the run seeds: every arm (and every other axis
value) of one seed gets that seed, so runs are paired seed by seed across arms. Instead of
listing seeds, give ``base_seed`` and ``n_seeds``: seed ``k`` is then the first 63-bit word of
``SeedSequence(base_seed).spawn(n_seeds)[k]``, shared by all arms of seed index ``k``.

Checks. A grid is checked as it is read, before anything trains: every key and value of
``overrides``, ``variants`` and ``axes`` (TOML values carry their type, so ``"3"`` where an
integer is expected is refused, unlike the text of ``--train.epochs=3``; ``"none"`` stands for
``None``), every dataset file it names, and (from a file, :func:`load_grid`) every entry. Each
distinct problem is reported once, with the number of entries that have it and the values they
share (``4 of 8 grid entries (backbone=mmgcn): ...``), in one error naming the grid file.

A grid file is TOML::

    dataset = ["synthetic"]
    backbone = ["late_fusion"]
    modalities = ["tav", "ta"]
    curriculum = ["none", "spcl", "random"]
    seed = [0, 1, 2]            # or: base_seed = 2026 and n_seeds = 5

    [overrides]
    "train.epochs" = 20
    "model.hidden_dim" = 64

    [[variants]]
    "pacing.normalisation" = "batch"
    [[variants]]
    "pacing.normalisation" = "kept"

    [axes]                      # none: 2 runs per seed (lr); spcl: 4 (lr x lambda0)
    "train.lr" = [1e-3, 3e-4]
    "pacing.lambda0" = [0.3, 0.6]
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spcl_diag.config.file import load_toml
from spcl_diag.config.schema import RunConfig
from spcl_diag.config.settings import problem_text, setting_problem, setting_type, split_problems
from spcl_diag.curriculum.names import PACED_ARMS
from spcl_diag.data.registry import BENCHMARKS
from spcl_diag.errors import ConfigError
from spcl_diag.plugins import load_plugins
from spcl_diag.runs.sweep import sweep_points
from spcl_diag.suggest import unknown_name


def _is_seed(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(value >= 0)


def _takes_a_list(key: str) -> bool:
    """Whether the config field at dotted ``key`` holds a tuple (e.g. ``data.synthetic.split_fractions``)."""
    return typing.get_origin(setting_type(RunConfig, key)) in (tuple, list)


AXES: tuple[str, ...] = ("dataset", "backbone", "modalities", "curriculum", "balancing", "seed")


@dataclass(frozen=True)
class Grid:
    """The axes of an experiment batch.

    Parameters
    ----------
    dataset, backbone, modalities, curriculum, balancing
        Values of each axis.
    seed
        The run seeds; leave empty and set ``base_seed`` and ``n_seeds`` to derive them.
    base_seed, n_seeds
        Derive ``n_seeds`` run seeds from ``SeedSequence(base_seed)``.
    overrides
        Dotted-key overrides applied to every run.
    variants
        The overrides axis: each entry is one setting of extra overrides.

    Examples
    --------
    >>> grid = Grid(curriculum=("none", "spcl"), seed=(0, 1), overrides={"train.epochs": 2})
    >>> [(c.curriculum, c.seed) for c in grid.configs()]
    [('spcl', 0), ('none', 0), ('spcl', 1), ('none', 1)]
    >>> Grid(base_seed=7, n_seeds=2).seeds() == Grid(base_seed=7, n_seeds=2).seeds()
    True
    """

    dataset: tuple[str, ...] = ("synthetic",)
    backbone: tuple[str, ...] = ("late_fusion",)
    modalities: tuple[str, ...] = ("tav",)
    curriculum: tuple[str, ...] = ("none", "spcl")
    balancing: tuple[str, ...] = ("none",)
    seed: tuple[int, ...] = ()
    base_seed: int | None = None
    n_seeds: int | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    variants: tuple[Mapping[str, Any], ...] = ({},)
    axes: Mapping[str, Any] = field(default_factory=dict)  # config field -> list of values (a sweep)
    plugins: tuple[str, ...] = ()  # modules imported before the runs are built

    def __post_init__(self) -> None:
        object.__setattr__(self, "plugins", (self.plugins,) if isinstance(self.plugins, str) else tuple(self.plugins))
        load_plugins(self.plugins)  # one clear error for a missing plugin, not one per run
        object.__setattr__(self, "axes", {str(k): _axis_values(k, v) for k, v in dict(self.axes).items()})
        for name in (*AXES, "variants"):
            value = getattr(self, name)
            if isinstance(value, (str, int, Mapping)):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "overrides", dict(self.overrides))
        problems = [f"axis {name!r} is empty" for name in (*AXES[:-1], "variants") if not getattr(self, name)]
        if self.seed and (self.base_seed is not None or self.n_seeds is not None):
            problems.append("give either 'seed' or 'base_seed' with 'n_seeds', not both")
        elif not self.seed and (self.base_seed is None or self.n_seeds is None):
            problems.append("give the run seeds as 'seed', or 'base_seed' and 'n_seeds' to derive them")
        elif not self.seed and self.n_seeds is not None and self.n_seeds < 1:
            problems.append(f"n_seeds must be >= 1; got {self.n_seeds}")
        bad_seeds = [s for s in self.seed if not _is_seed(s)]
        if bad_seeds:
            problems.append(f"seed values must be integers >= 0; got {', '.join(map(repr, bad_seeds))}")
        elif len(set(self.seed)) != len(self.seed):
            problems.append(f"seed values repeat: {list(self.seed)}")
        for name in ("base_seed", "n_seeds"):
            value = getattr(self, name)
            if value is not None and not _is_seed(value):
                problems.append(f"{name} must be an integer >= 0; got {value!r}")
        for key, value in self.overrides.items():
            if isinstance(value, (list, tuple)) and not _takes_a_list(key):
                problems.append(
                    f"[overrides] {key!r} = {list(value)!r}: [overrides] takes one value per key; to try several "
                    f"values, list one [[variants]] table per value"
                )
            else:
                problems += _setting_problems("[overrides]", key, [value])
        for i, variant in enumerate(self.variants, 1):
            problems += [p for key, value in dict(variant).items()
                         for p in _setting_problems(f"[[variants]] table {i}:", key, [value])]
        for key, values in self.axes.items():
            problems += _setting_problems("[axes]", key, values)
        missing = _missing_files(self.dataset)
        if missing:
            problems.append(f"dataset file{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)} "
                            f"(relative paths are read from {Path.cwd()})")
        if problems:
            raise ConfigError(problem_text("invalid grid", list(dict.fromkeys(problems))))

    # ------------------------------------------------------------------ seeds
    def seeds(self) -> tuple[int, ...]:
        """The run seeds: ``seed`` as given, or derived from ``base_seed`` with ``SeedSequence``."""
        if self.seed:
            return tuple(int(s) for s in self.seed)
        assert self.base_seed is not None and self.n_seeds is not None
        return derive_seeds(self.base_seed, self.n_seeds)

    # -------------------------------------------------------------- expansion
    def configs(self) -> list[RunConfig]:
        """Every run of the grid, each once, in scheduling order.

        Runs are grouped by seed (and by the other axes); within a group the ``spcl`` arm
        comes first and the arms that replay its pacing (``random``, ``anti``) last.

        Raises
        ------
        ConfigError
            Listing every axis combination that does not make a valid run config.
        """
        arms = sorted(self.curriculum, key=_arm_rank)
        configs: dict[str, RunConfig] = {}
        entries: list[dict[str, Any]] = []
        problems: dict[str, list[dict[str, Any]]] = {}  # each distinct problem -> the entries that have it
        for dataset, backbone, modalities, balancing, variant, seed in itertools.product(
            self.dataset, self.backbone, self.modalities, self.balancing, self.variants, self.seeds()
        ):
            for arm in arms:
                values = {"dataset": dataset, "backbone": backbone, "modalities": modalities,
                          "curriculum": arm, "balancing": balancing, "seed": seed}
                for point in sweep_points(self.axes, curriculum=arm, balancing=balancing):
                    entries.append({**values, **dict(variant), **(point or {})})
                    plugins = {"plugins": list(self.plugins)} if self.plugins else {}
                    try:  # one config built from every setting, so that each of its problems is found
                        config = RunConfig().with_overrides(
                            {**values, **plugins, **dict(self.overrides), **dict(variant), **(point or {})}
                        )
                    except ConfigError as err:
                        for problem in split_problems(str(err)):
                            problems.setdefault(problem, []).append(entries[-1])
                        continue
                    configs.setdefault(config.run_id(), config)
        if problems:
            raise ConfigError(problem_text("invalid grid", [
                f"{_which_entries(failing, entries)}: {problem}" for problem, failing in problems.items()
            ]))
        return list(configs.values())

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the inverse of :meth:`from_dict`)."""
        values: dict[str, Any] = {name: list(getattr(self, name)) for name in AXES if getattr(self, name)}
        if not self.seed:
            values.update(base_seed=self.base_seed, n_seeds=self.n_seeds)
        values["overrides"] = dict(self.overrides)
        values["variants"] = [dict(v) for v in self.variants]
        if self.axes:
            values["axes"] = {k: list(v) for k, v in self.axes.items()}
        if self.plugins:
            values["plugins"] = list(self.plugins)
        return json.loads(json.dumps(values))

    def fingerprint(self) -> str:
        """12 hex digits of the SHA-256 of the canonical JSON of :meth:`to_dict`."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Grid:
        """A grid from a mapping such as a parsed TOML file; unknown keys are errors."""
        valid = sorted(f.name for f in dataclasses.fields(cls))
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(problem_text("invalid grid", [
                unknown_name("grid key", key, valid, listed="valid keys are") for key in unknown
            ]))
        return cls(**dict(values))


def derive_seeds(base_seed: int, n_seeds: int) -> tuple[int, ...]:
    """``n_seeds`` independent run seeds from one base seed.

    Seed ``k`` is the first 64-bit word of ``SeedSequence(base_seed).spawn(n_seeds)[k]``,
    shifted to 63 bits so that it is a valid non-negative ``int64``.

    Examples
    --------
    >>> derive_seeds(0, 3) == derive_seeds(0, 3), len(set(derive_seeds(0, 3)))
    (True, 3)
    """
    children = np.random.SeedSequence(base_seed).spawn(n_seeds)
    return tuple(int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children)


def load_grid(source: str | Path | Mapping[str, Any] | Grid) -> Grid:
    """A :class:`Grid` from a TOML file path, a mapping or a grid.

    Raises
    ------
    ConfigError
        When the file is not valid TOML, names unknown keys, or an entry is not a valid run
        config; each problem is listed once, with the grid file and the entries that have it.
    """
    if isinstance(source, Grid):
        return source
    if isinstance(source, Mapping):
        return Grid.from_dict(source)
    return load_toml(Path(source), "grid", _checked_grid)


def _checked_grid(values: Mapping[str, Any]) -> Grid:
    """The grid of a file, every entry checked, so that each problem is reported with the file's name."""
    grid = Grid.from_dict(values)
    grid.configs()
    return grid


def _axis_values(name: Any, values: Any) -> tuple[Any, ...]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"invalid grid: axes.{name} must be a non-empty list of values; got {values!r}.")
    return tuple(values)


def _setting_problems(where: str, key: str, values: Any) -> list[str]:
    """The problems of setting ``key`` to each of ``values``, each once, prefixed by where the grid sets it."""
    found = (setting_problem(RunConfig, str(key), value) for value in values)
    return [f"{where} {problem}" for problem in dict.fromkeys(p for p in found if p)]


def _missing_files(datasets: tuple[str, ...]) -> list[str]:
    """The dataset names that are feature-file paths (a data suffix or a folder) with no file there.

    The rule of :func:`spcl_diag.data.registry.resolve_dataset`, applied when the grid is read
    rather than once per run.
    """
    def is_path(name: str) -> bool:
        return Path(name).suffix in (".pkl", ".pickle", ".npz") or "/" in name or os.sep in name

    return [name for name in datasets if isinstance(name, str) and name not in BENCHMARKS
            and not name.startswith("memory:") and is_path(name) and not Path(name).expanduser().is_file()]


def _which_entries(failing: list[dict[str, Any]], entries: list[dict[str, Any]]) -> str:
    """``all 30 grid entries``, or ``4 of 30 grid entries (backbone=mmgcn)``: the values the failing ones share.

    The values named are those every failing entry has and some other entry has not; when no
    such value singles them out, the first failing entry's varying values are given as an example.
    """
    if len(failing) == len(entries):
        return f"all {len(entries)} grid entries" if len(entries) > 1 else "the grid entry"

    def text(value: Any) -> str:
        return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value

    keys = list(dict.fromkeys(k for entry in entries for k in entry))
    varying = [k for k in keys if len({text(e.get(k)) for e in entries}) > 1]
    shared = [k for k in varying if len({text(e.get(k)) for e in failing}) == 1 and k in failing[0]]
    named = ", ".join(f"{k}={text(failing[0][k])}" for k in shared)
    if not named:
        named = "e.g. " + ", ".join(f"{k}={text(failing[0][k])}" for k in varying if k in failing[0])
    return f"{len(failing)} of {len(entries)} grid entries ({named})"


def _arm_rank(arm: str) -> int:
    return 0 if arm == "spcl" else 2 if arm in PACED_ARMS else 1

