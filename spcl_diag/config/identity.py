"""Run identity: what makes two runs the same experiment, and the run id that hashes it.

The run id is 12 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces) of
the *identity payload*

.. math:: \\text{payload} = \\text{config.identity()} \\cup \\bigcup_k \\text{component}_k(\\text{config})

where ``config.identity()`` is the resolved configuration without the fields marked
``identity=False`` (where the data lives), and each entry of :data:`IDENTITY_COMPONENTS` adds
facts about the world that the configuration alone does not pin down. Built in:

* :func:`data_content` adds ``data_content``, the SHA-256 (16 hex digits) of the bytes of the
  data file the run trains on (a feature file, or the bundle of a semi-synthetic benchmark).
  Editing or replacing a file at the same path therefore gives new run ids, and a batch
  trains afresh instead of returning results of the old data. The synthetic benchmark is
  defined by its config and adds nothing.

A feature file is identified by its content and its format, never by its path: the payload's
``dataset`` is ``file:npz`` or ``file:pickle`` (:func:`dataset_identity`), so the same file given
by an absolute path, a relative one or as a copy elsewhere is the same experiment (a batch
resumes after the data moves, runs of one file on two machines pair). The path the run read
stays in ``config.json`` as metadata.

To add a component (for example a hash of a plugin's source), append a function
``config -> dict`` to :data:`IDENTITY_COMPONENTS`; its keys must not be config field names.
The payload is stored in ``config.json`` (``identity``), so a run folder can be checked
against its name without the data or the code that wrote it (:func:`folder_run_id`, which
:func:`spcl_diag.runs.directory.read_folder_run_id` applies to a folder).

Examples
--------
>>> from spcl_diag.config.schema import RunConfig
>>> config = RunConfig(seed=4)
>>> identity_payload(config) == config.identity()  # the synthetic benchmark adds nothing
True
>>> payload_run_id(identity_payload(config)) == config.run_id()
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from spcl_diag.config.schema import RunConfig

IdentityComponent = Callable[["RunConfig"], Mapping[str, Any]]


def data_content(config: RunConfig) -> dict[str, str]:
    """``{"data_content": <16 hex digits>}`` for a run on a data file; ``{}`` otherwise.

    A file that cannot be found adds nothing: such a run fails before training and records
    nothing, so its id never names a finished run.
    """
    from spcl_diag.data.cache import file_digest
    from spcl_diag.data.registry import source_file

    path = source_file(config.dataset, config.data)
    if path is None:
        return {}
    return {"data_content": file_digest(path)[:16]}


IDENTITY_COMPONENTS: list[IdentityComponent] = [data_content]


def dataset_identity(config: RunConfig) -> str:
    """The payload's ``dataset``: a benchmark's name, or ``file:<npz|pickle>`` for a feature file.

    A file that cannot be found keeps its path text (such a run fails before training).
    """
    from spcl_diag.data.loaders import is_npz
    from spcl_diag.data.registry import BENCHMARKS, source_file

    if config.dataset in BENCHMARKS:
        return config.dataset
    path = source_file(config.dataset, config.data)
    if path is None:
        return config.dataset
    return "file:npz" if is_npz(path) else "file:pickle"


def identity_payload(config: RunConfig) -> dict[str, Any]:
    """The dict whose hash is the run id: the config's identity plus every component.

    This is the one function that says what a run is; :func:`payload_run_id` hashes it, and
    ``run``, ``run_stack``, the batch and :class:`~spcl_diag.runs.recorder.RunRecorder` all
    call it.
    """
    payload = dict(config.identity())
    payload["dataset"] = dataset_identity(config)
    for component in IDENTITY_COMPONENTS:
        extra = component(config)
        clash = sorted(set(extra) & set(payload))
        assert not clash, f"identity component {component.__name__} reuses the key(s) {clash}"
        payload.update(extra)
    return payload


def payload_run_id(payload: Mapping[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of ``payload``."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def stored_run_id(metadata: Mapping[str, Any]) -> str | None:
    """The hash of the identity payload a ``config.json`` stores; None for folders older than that.

    What both the folder check (:func:`folder_run_id`) and ``load_runs`` compare with the
    folder's name, so that they agree on every folder that stores its payload.
    """
    identity = metadata.get("identity")
    return payload_run_id(identity) if isinstance(identity, dict) else None


def folder_run_id(metadata: Mapping[str, Any]) -> str | None:
    """The run id a run folder's ``config.json`` resolves to, or None when it cannot tell.

    Folders written since the payload is stored hash their ``identity``; older ones are
    resolved from their ``config`` with today's code.
    """
    stored = stored_run_id(metadata)
    if stored is not None:
        return stored
    if not isinstance(metadata.get("config"), dict):
        return None
    from spcl_diag.config.schema import RunConfig
    from spcl_diag.errors import ConfigError

    try:
        return RunConfig.from_dict(metadata["config"]).run_id()
    except (ConfigError, TypeError, ValueError):
        return None
