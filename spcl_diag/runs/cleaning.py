"""What ``spcl-diag clean RUNS`` lists and removes: run folders no batch will use again.

A folder of runs collects, besides its finished runs,

* ``failed``: a run folder that records a failure (``error.txt``); a batch keeps it, and
  trains the run again only with ``retry_failed``;
* ``stale``: a folder named by a run id that is not a finished run of that id (incomplete,
  damaged, or holding another config's run): a batch sets it aside and trains again;
* ``set-aside``: ``<id>.failed-<n>`` and ``<id>.stale-<n>``, where a batch moved such folders
  (:func:`spcl_diag.runs.execute.set_aside`);
* ``old-plugin``: a finished run whose plugin's source has changed since (its hash in
  ``config.json`` is not the hash of the plugin's file today, :func:`spcl_diag.plugins.plugin_hash`):
  the grid now gives new run ids, and ``load_runs`` warns that the folder mixes versions;
* ``temporary``: ``.<id>.tmp-<pid>``, a half-written run of a process of this machine that is
  gone (a live process's temporary is never touched).

:func:`clean_runs` finds them; with ``remove=True`` it deletes them. Run it while no batch
writes into the folder from another machine (a temporary's process can only be checked here).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from spcl_diag.errors import ConfigError
from spcl_diag.plugins import PluginError, plugin_hash
from spcl_diag.runs import directory as rd

CleanKind = Literal["failed", "stale", "set-aside", "old-plugin", "temporary"]
CLEAN_KINDS: tuple[str, ...] = ("failed", "stale", "set-aside", "old-plugin", "temporary")


@dataclass(frozen=True)
class Leftover:
    """One folder :func:`clean_runs` would remove, with why."""

    path: Path
    kind: str  # one of CLEAN_KINDS
    reason: str


@dataclass(frozen=True)
class CleanResult:
    """The leftovers found under ``runs`` and whether they were removed."""

    leftovers: tuple[Leftover, ...]
    runs: Path
    removed: bool

    def table(self) -> str:
        """One line per leftover: kind, folder (relative to ``runs``), reason."""
        rows = [(item.kind, str(item.path.relative_to(self.runs)), item.reason) for item in self.leftovers]
        width = [max([len(r[i]) for r in rows], default=0) for i in range(2)]
        return "\n".join(f"{kind.ljust(width[0])}  {path.ljust(width[1])}  {reason}" for kind, path, reason in rows)

    def line(self) -> str:
        """``3 leftovers under runs (2 failed, 1 temporary): removed`` or what to run to remove them."""
        if not self.leftovers:
            return f"nothing to clean under {self.runs}"
        counts = Counter(item.kind for item in self.leftovers)
        kinds = ", ".join(f"{counts[k]} {k}" for k in CLEAN_KINDS if counts[k])
        done = "removed" if self.removed else "nothing removed; run again with --yes (remove=True) to remove them"
        return f"{len(self.leftovers)} leftover{'s' * (len(self.leftovers) != 1)} under {self.runs} ({kinds}): {done}"


def clean_runs(runs: str | Path, *, kinds: Sequence[str] = CLEAN_KINDS, remove: bool = False) -> CleanResult:
    """Find (and with ``remove=True`` delete) the failed, stale, set-aside, old-plugin and temporary folders.

    Parameters
    ----------
    runs
        A folder of run directories (searched recursively, as :func:`~spcl_diag.runs.loading.load_runs` does).
    kinds
        Which of :data:`CLEAN_KINDS` to look for (default: all).
    remove
        Delete what was found; by default only list it.

    Raises
    ------
    FileNotFoundError
        ``runs`` does not exist.
    ConfigError
        A kind is not one of :data:`CLEAN_KINDS`.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "0123456789ab.failed-1").mkdir()
    >>> print(clean_runs(folder).table())
    set-aside  0123456789ab.failed-1  a failed run a batch set aside
    >>> clean_runs(folder, remove=True).removed, clean_runs(folder).leftovers
    (True, ())
    """
    unknown = sorted(set(kinds) - set(CLEAN_KINDS))
    if unknown:
        raise ConfigError(f"unknown kind(s) {', '.join(unknown)}; valid kinds are {', '.join(CLEAN_KINDS)}.")
    root = Path(runs)
    if not root.is_dir():
        raise FileNotFoundError(f"no runs at {root}: the folder does not exist.")
    found = tuple(item for item in _leftovers(root, {}) if item.kind in kinds)
    if remove:
        for item in found:
            shutil.rmtree(item.path, ignore_errors=True)
    return CleanResult(found, root, remove)


def _leftovers(folder: Path, hashes: dict[str, str | None]) -> Iterator[Leftover]:
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir() or entry.is_symlink():
            continue
        name = entry.name
        if name.startswith(".") and ".tmp-" in name:
            pid = name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                yield Leftover(entry, "temporary", f"half-written by process {pid}, which is gone")
        elif ".failed-" in name or ".stale-" in name:
            what = "a failed run" if ".failed-" in name else "an incomplete or another config's run"
            yield Leftover(entry, "set-aside", f"{what} a batch set aside")
        elif _is_run_id(name):
            yield from _run_folder(entry, hashes)
        elif not name.startswith(".") and not (entry / rd.RESULT).is_file():
            yield from _leftovers(entry, hashes)  # a folder of folders of runs


def _run_folder(run_dir: Path, hashes: dict[str, str | None]) -> Iterator[Leftover]:
    state = rd.run_state(run_dir, run_dir.name)
    if state == "failed":
        yield Leftover(run_dir, "failed", "a recorded failure (error.txt); a batch trains it again only with "
                                          "--retry-failed")
    elif state == "stale":
        yield Leftover(run_dir, "stale", "not a finished run of this id (incomplete, damaged or another config's); "
                                         "a batch sets it aside")
    elif state == "complete":
        try:
            sources = rd.read_json(run_dir / rd.CONFIG).get("plugins") or {}
        except (OSError, ValueError, AttributeError):
            sources = {}
        changed = [name for name, digest in sorted(sources.items()) if _current_hash(name, hashes) not in (None, digest)]
        if changed:
            yield Leftover(run_dir, "old-plugin", f"trained with an earlier source of plugin(s) {', '.join(changed)}")


def _current_hash(name: str, hashes: dict[str, str | None]) -> str | None:
    """The plugin's source hash today, or None when it cannot be found here (then nothing is called old)."""
    if name not in hashes:
        try:
            hashes[name] = plugin_hash(name)
        except PluginError:
            hashes[name] = None
    return hashes[name]


def _is_run_id(name: str) -> bool:
    return len(name) == 12 and all(c in "0123456789abcdef" for c in name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
