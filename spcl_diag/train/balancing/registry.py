r"""The registry of balancing methods: one :class:`MethodSpec` per method, and :func:`register_balancing`.

A spec says everything the rest of the project needs to know about a method: its citation and
reference code, what it changes and logs (the table of methods in docs/methods.md is this registry), the
``balancing_config`` fields it reads with each default and where the value comes from, the
modalities and heads it needs (checked when a config is read), whether it trains inside a
stack and, if not, why, and how to build its :class:`~spcl_diag.train.balancing.base.Balancer`.

Everything but the builder is pure data, the method's
:class:`~spcl_diag.config.balancing.MethodRequirements`, which the config layer holds so that
a config is checked without torch (:mod:`spcl_diag.config.balancing`, where the built-in
methods' data is written); :func:`register_balancing` registers both parts in one call, and
:data:`METHODS` keeps them in step (setting or deleting a method there does the same to
:data:`~spcl_diag.config.balancing.METHOD_REQUIREMENTS`).

A method of your own is a :class:`~spcl_diag.train.balancing.base.Balancer` subclass and a
spec passed to :func:`register_balancing`; a plugin module (:mod:`spcl_diag.plugins`) can
register backbones and balancing methods alike (``docs/extending.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from spcl_diag.config.balancing import (
    METHOD_REQUIREMENTS,
    MethodRequirements,
    register_requirements,
)
from spcl_diag.data.batching import DeviceSplit
from spcl_diag.errors import ConfigError
from spcl_diag.models.base import Backbone
from spcl_diag.train.balancing.base import Balancer


@dataclass(frozen=True)
class BalancerContext:
    """What a method's builder gets: the model, the resolved settings and the run's facts."""

    model: Backbone
    settings: Mapping[str, Any]  # every field of the spec's defaults: the config's value, else the default
    seed: int  # the run's balancing seed (noise, subsets, auxiliary heads)
    epochs: int  # the run's train.epochs
    class_weights: Tensor | None  # the joint loss's [C] class weights (train.class_weights), or None
    train_config: Any = None  # the run's TrainConfig (lr, weight decay, batch size, clip)
    holdout: DeviceSplit | None = None  # the dialogues carved out of train for the method (MethodSpec.holdout)
    view: Callable[[Any], Any] = lambda p: p  # parameter -> what the method edits (a stack: that arm's slice)


@dataclass(frozen=True)
class MethodSpec(MethodRequirements):
    """A balancing method: its :class:`~spcl_diag.config.balancing.MethodRequirements` and its builder.

    It inherits every field of ``MethodRequirements`` and adds ``build`` and ``holdout``, which
    are keyword-only (``MethodSpec("name", build=..., summary=...)``).

    Attributes
    ----------
    name, summary, logged, citation, code, defaults, min_modalities, needs_pure_heads
        As :class:`~spcl_diag.config.balancing.MethodRequirements` says.
    build
        ``BalancerContext -> Balancer``.
    stacks, solo_reason
        Whether runs of this method train inside a stack (``--stack arms``); if not, why. In a
        stack every arm gets its own balancer, built on the template model at the solo run's
        initial weights with the run's seed. A method that stacks edits gradients only through
        ``ctx.view(p)`` of the parameters it chose (in a stack, an object whose ``.grad`` is the
        arm's slice of the stacked gradient), only in ``after_clip`` (the stack calls no
        ``before_clip``) and after one backward pass; it reads ``joint``, ``per_modality`` and
        ``features`` of the arm's output; its own ``parameters()`` train and are clipped with
        the arm's; its ``epoch_start`` gets the arm's own solo model (a copy of its weights), so
        it may run it or copy it but edits there do not reach the stack.
    holdout
        ``settings -> share`` of the training dialogues the method holds out of training for
        its own estimates (G-Blend), or ``None``; the loop carves them before the run starts.
    """

    build: Callable[[BalancerContext], Balancer] = field(kw_only=True)
    holdout: Callable[[Mapping[str, Any]], float] | None = field(default=None, kw_only=True)

    @property
    def requirements(self) -> MethodRequirements:
        """The method's data, without the builder: what the config layer checks."""
        return MethodRequirements(**{f.name: getattr(self, f.name) for f in dataclasses.fields(MethodRequirements)})

    @classmethod
    def of(cls, requirements: MethodRequirements, *, build: Callable[[BalancerContext], Balancer],
           holdout: Callable[[Mapping[str, Any]], float] | None = None) -> MethodSpec:
        """The spec of the method ``requirements`` describes, built by ``build`` (the built-in methods)."""
        data = {f.name: getattr(requirements, f.name) for f in dataclasses.fields(MethodRequirements)}
        return cls(build=build, holdout=holdout, **data)


class _Methods(MutableMapping[str, MethodSpec]):
    """Name -> :class:`MethodSpec`, in step with the config layer's ``METHOD_REQUIREMENTS``.

    Setting a method sets its requirements there and deleting one deletes them, so that a
    config never accepts a method that cannot be built (the registry of a test or a notebook).
    """

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}

    def __getitem__(self, name: str) -> MethodSpec:
        return self._specs[name]

    def __setitem__(self, name: str, spec: MethodSpec) -> None:
        METHOD_REQUIREMENTS[name] = spec.requirements
        self._specs[name] = spec

    def __delitem__(self, name: str) -> None:
        del self._specs[name]
        METHOD_REQUIREMENTS.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"METHODS({list(self._specs)})"


METHODS: MutableMapping[str, MethodSpec] = _Methods()


def register_balancing(spec: MethodSpec, *, _builtin: bool = False) -> None:
    """Add a balancing method to :data:`METHODS`, so that configs, grids and the CLI can name it.

    Its requirements go to the config layer's
    :data:`~spcl_diag.config.balancing.METHOD_REQUIREMENTS` in the same call. Registering a
    name again replaces the earlier entry (a plugin imported again after an edit); the built-in
    methods cannot be replaced.

    Raises
    ------
    ConfigError
        When ``spec`` is not a :class:`MethodSpec`, names a built-in method, reads a field that
        ``balancing_config`` does not have, or says it cannot stack without a reason.

    Examples
    --------
    >>> from spcl_diag.train.balancing import Balancer
    >>> register_balancing(MethodSpec("nothing-doc", build=lambda ctx: Balancer(), summary="nothing"))
    >>> METHODS["nothing-doc"].min_modalities
    2
    >>> del METHODS["nothing-doc"]  # (keep the registry as it was)
    """
    if not isinstance(spec, MethodSpec):
        raise ConfigError(f"register_balancing needs a MethodSpec; got {type(spec).__name__}.")
    register_requirements(spec.requirements, _builtin=_builtin)
    METHODS[spec.name] = spec


def resolve_settings(spec: MethodSpec, config: Any, epochs: int) -> dict[str, Any]:
    """Field -> value for ``spec``: the config's value where set, else the spec's default."""
    return {name: (default.resolve(epochs) if getattr(config, name) is None else getattr(config, name))
            for name, default in spec.defaults.items()}


def methods_table(specs: Iterable[MethodSpec]) -> str:
    """The Markdown table of ``specs``: the table of balancing methods in docs/methods.md is this function's output.

    Examples
    --------
    >>> from spcl_diag.train.balancing import METHODS
    >>> methods_table([METHODS["mmpareto"]]).splitlines()[0].split(" | ")[:3]
    ['| `--balancing`', 'what it changes', 'defaults (source)']
    """
    lines = ["| `--balancing` | what it changes | defaults (source) | needs | stacks | logged per epoch | reference |",
             "|---|---|---|---|---|---|---|"]
    for spec in specs:
        defaults = "; ".join(f"`{name}` {_shown(d.value)} ({d.source})" for name, d in spec.defaults.items()) or "-"
        needs = [f">= {spec.min_modalities} modalities"] if spec.min_modalities > 1 else []
        needs += ["pure heads"] if spec.needs_pure_heads else []
        stacks = "yes" if spec.stacks else f"no: {spec.solo_reason}"
        logged = ", ".join(f"`{m}`" for m in spec.logged) or "-"
        reference = ", ".join(part for part in (spec.citation, f"`{spec.code}`" if spec.code else "") if part) or "-"
        lines.append(f"| `{spec.name}` | {spec.summary} | {defaults} | {', '.join(needs) or '-'} | {stacks} | "
                     f"{logged} | {reference} |")
    return "\n".join(lines) + "\n"


def _shown(value: Any) -> str:
    """A default as the table shows it (a function of the epochs by its docstring's first line)."""
    if callable(value):
        return "f(epochs)"
    return "none" if value is None else f"`{value}`"
