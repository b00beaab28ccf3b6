"""One run's lifecycle: its plan, what to do with the folder it belongs in, and the spcl twin it follows.

:func:`~spcl_diag.runs.execute.run`, :func:`~spcl_diag.runs.stack.run_stack` and the batch
tasks (:mod:`spcl_diag.batch.task`, which adds only its locks) all go through this module:

* :func:`plan_run` resolves a config once into a :class:`RunPlan`: the resolved config, its
  identity payload (:func:`~spcl_diag.config.identity.identity_payload`) and the run id that
  hashes it, and the folder ``<out>/<run_id>`` where the run belongs;
* :func:`decide` is the one read/train/set-aside table (:meth:`RunPlan.decide` applies it to
  what the folder holds, :func:`~spcl_diag.runs.directory.run_state`):

  ============  ==========================  ==========================================
  folder        ``retry_failed=False``      ``retry_failed=True``
  ============  ==========================  ==========================================
  absent        train                       train
  complete      read it back                read it back
  failed        read it back (the failure)  set aside as ``<id>.failed-<n>``, train
  stale         set aside as ``<id>.stale-<n>`` (with a warning), train
  ============  ==========================  ==========================================

  "stale": incomplete, damaged, or holding the run of another config (a copied folder);
* :func:`twin_of` is the pairing rule: a ``random`` or ``anti`` run replays the per-batch
  counts of the ``spcl`` run with the same config and seed, so that twin must be complete
  first; :func:`twins_needed` says which twins a set of runs trained together needs from
  outside (none when the set holds its spcl arm), and :func:`twin_pacing` gets a twin's
  record, training the twin first when it is missing.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spcl_diag.config.identity import identity_payload, payload_run_id
from spcl_diag.config.schema import RunConfig
from spcl_diag.curriculum.names import PACED_ARMS
from spcl_diag.errors import RunSetupError
from spcl_diag.runs import directory as rd

if TYPE_CHECKING:  # torch: the batch decides what to train without importing it
    from spcl_diag.curriculum.arms import PacingRecord
    from spcl_diag.data.dataset import ConversationDataset

Action = Literal["read", "train"]
AsideKind = Literal["failed", "stale"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run: where the run is and what ``result.json`` says."""

    run_id: str
    path: Path
    status: str  # "ok" or "failed"
    result: dict[str, Any]

    @property
    def test_wf1(self) -> float:
        return float(self.result["test"]["joint"]["wf1"])

    @property
    def error(self) -> str | None:
        """The one-line reason of a failed run (``None`` when it succeeded)."""
        if self.status == "ok":
            return None
        return str(self.result.get("error") or "no reason recorded; see error.txt")


class RunFailedError(RunSetupError):
    """The spcl run that a ``random`` or ``anti`` run is paired with failed."""


@dataclass(frozen=True)
class Decision:
    """What to do with the folder a run belongs in (:func:`decide`)."""

    state: rd.RunState  # what the folder holds
    action: Action  # "read": read the run back; "train": train it
    set_aside: AsideKind | None = None  # move the folder out of the way first (to <id>.<kind>-<n>)


def decide(state: rd.RunState, *, retry_failed: bool) -> Decision:
    """The read/train/set-aside decision for a folder in ``state`` (the table of the module docstring)."""
    if state == "complete" or (state == "failed" and not retry_failed):
        return Decision(state, "read")
    if state == "absent":
        return Decision(state, "train")
    return Decision(state, "train", "failed" if state == "failed" else "stale")


@dataclass(frozen=True)
class RunPlan:
    """A run resolved once: its config, identity payload, run id and folder."""

    config: RunConfig  # resolved (RunConfig.resolved)
    payload: dict[str, Any]  # identity_payload(config): what the run id hashes
    run_id: str
    out: Path  # the folder of run directories

    @property
    def final(self) -> Path:
        """``<out>/<run_id>``: where the finished run lives."""
        return self.out / self.run_id

    def decide(self, *, retry_failed: bool) -> Decision:
        """:func:`decide` for what ``final`` holds; RunSetupError when it is a file or a dangling link."""
        return decide(rd.run_state(self.final, self.run_id), retry_failed=retry_failed)

    def read(self) -> RunResult:
        """The run on disk (finished, or a recorded failure)."""
        result = rd.read_json(self.final / rd.RESULT)
        return RunResult(run_id=self.run_id, path=self.final, status=result.get("status", "failed"), result=result)

    def clear(self, decision: Decision) -> None:
        """Before training: refuse an output folder that cannot be written, then set aside what ``decision`` says."""
        check_writable(self.out, self.run_id)
        if decision.set_aside is not None:
            set_aside(self.final, decision.set_aside, self.run_id)


def plan_run(config: RunConfig, out_dir: str | Path, *, dataset: ConversationDataset | None = None) -> RunPlan:
    """Resolve ``config`` (trained on ``dataset`` when given) into its :class:`RunPlan` in ``out_dir``.

    An in-memory ``dataset`` names the config's dataset ``memory:<name>:<fingerprint>``, so that
    the data's content enters the run id.
    """
    if dataset is not None:
        from spcl_diag.data.registry import memory_dataset_name

        config = dataclasses.replace(config, dataset=memory_dataset_name(dataset))
    config = config.resolved()
    payload = identity_payload(config)
    return RunPlan(config, payload, payload_run_id(payload), Path(out_dir))


def twin_of(config: RunConfig) -> RunConfig | None:
    """The ``spcl`` run whose pacing ``config`` replays (``random``, ``anti``), or ``None`` for an independent arm."""
    return config.paired("spcl") if config.curriculum in PACED_ARMS else None


def twins_needed(configs: Sequence[RunConfig]) -> list[RunConfig]:
    """The spcl twins that ``configs``, trained together, need complete first: none when they hold the spcl arm.

    One twin per distinct run id, in the order of ``configs``.
    """
    if any(c.curriculum == "spcl" for c in configs):
        return []
    twins: dict[str, RunConfig] = {}
    for config in configs:
        twin = twin_of(config)
        if twin is not None:
            twins.setdefault(twin.run_id(), twin)
    return list(twins.values())


def twin_pacing(config: RunConfig, run_twin: Callable[[RunConfig], RunResult]) -> PacingRecord:
    """The pacing a ``random`` / ``anti`` run replays: its spcl twin's record.

    ``run_twin`` runs the twin (reading it back when it is complete, training it when it is
    missing), as :func:`~spcl_diag.runs.execute.run` would.

    Raises
    ------
    RunSetupError
        The spcl run could not start; :class:`RunFailedError` when it failed.
    """
    from spcl_diag.curriculum.arms import PacingRecord

    twin = twin_of(config)
    assert twin is not None, f"{config.curriculum} follows no spcl twin"
    try:
        result = run_twin(twin)
    except RunSetupError as err:
        raise RunSetupError(f"the paired spcl run of {config.curriculum} run {config.run_id()} could not start: "
                            f"{err}") from None
    if result.status != "ok":
        raise RunFailedError(
            f"the paired spcl run {result.run_id} failed ({result.error}), so the {config.curriculum} arm cannot "
            "replay its pacing; fix the cause and run again with --retry-failed (retry_failed=True)."
        )
    return PacingRecord.load(str(result.path / rd.PACING))


def check_writable(out: Path, run_id: str) -> None:
    """Refuse, before any work and without creating anything, an output folder that cannot be written."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunSetupError(
            f"run {run_id} could not start: cannot create the output folder {out} ({existing} is not a folder); "
            "choose another folder (--out)."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the output folder" if existing == out else f"the output folder {out}: its parent"
        raise RunSetupError(
            f"run {run_id} could not start: {what} {existing} is not writable; finished runs can be read from "
            "it, but new ones need another folder (--out)."
        )


def set_aside(path: Path, kind: AsideKind, run_id: str) -> None:
    """Move a failed (``kind="failed"``) or stale run directory out of the way without deleting it.

    Stale: incomplete, damaged, or holding the run of another config; said in a warning.
    """
    n = 1
    while path.with_name(f"{path.name}.{kind}-{n}").exists():
        n += 1
    aside = path.with_name(f"{path.name}.{kind}-{n}")
    shutil.move(str(path), str(aside))
    if kind == "stale":
        holds = rd.read_folder_run_id(aside)
        why = f"its config.json resolves to run {holds}" if holds and holds != run_id else "it is incomplete or damaged"
        warnings.warn(f"run folder {path} was not a finished run {run_id} ({why}); set aside as {aside.name} "
                      "and trained again.", UserWarning, stacklevel=4)
