"""Plugins: the researcher's own modules, imported by name wherever a run is built.

A plugin is a Python module (a file ``mymodule.py`` or a package ``mymodule/``) found on
``PYTHONPATH`` or in the current folder. Importing it runs its registrations, typically
:func:`spcl_diag.register_backbone`. A run names its plugins in ``RunConfig.plugins``
(``plugins = ["mymodule"]`` in a grid or config file, ``--plugin mymodule`` on the command
line); building the :class:`~spcl_diag.config.schema.RunConfig` imports them, so every worker
of every executor (a spawned process pool, a SLURM job, a Ray task) imports them before it
trains, without further code.

The plugin's source is part of the run identity: :func:`plugin_sources` hashes the module's
file (every ``.py`` file of a package), so editing a plugin gives new run ids and a batch
trains again instead of returning the results of the old code. A module whose file changed
since it was imported in this process is imported again.

>>> plugin_sources(())
{}
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from spcl_diag.errors import ConfigError


class PluginError(ConfigError):
    """A plugin module cannot be found or raised while it was imported."""


_IMPORTED: dict[str, str] = {}  # module name -> source hash when this process imported it


def _search_cwd() -> None:
    """Put the current folder on ``sys.path`` (as ``python -m`` does), once."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def plugin_module(given: str) -> str:
    """The module name of ``--plugin given``: a module name as it is, or a file path such as
    ``path/to/model.py`` (as Lightning CLI and Hydra users type it), whose folder is then put on
    ``sys.path`` and ``PYTHONPATH`` (so that workers find it too) and whose stem is the name.

    Raises
    ------
    ConfigError
        ``given`` looks like a path and no such file exists.
    """
    if not (given.endswith(".py") or os.sep in given):
        return given
    path = Path(given)
    if not path.is_file():
        raise ConfigError(f"--plugin {given}: no such file; give a path to a .py file or a module name.")
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if folder not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([folder, *filter(None, paths)])
    return path.stem


def plugin_files(name: str) -> list[Path]:
    """The source files of plugin ``name``: its module file, or every ``.py`` file of its package.

    Raises
    ------
    PluginError
        When no module of that name is on ``PYTHONPATH`` or in the current folder.
    """
    _search_cwd()
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as err:  # a missing parent package, an empty name
        raise PluginError(_failed_inside(name, err)) from None
    if spec is None or spec.origin is None or not Path(spec.origin).is_file():
        raise PluginError(_cannot_import(name, "no such module"))
    origin = Path(spec.origin)
    if spec.submodule_search_locations:  # a package: all of its source
        return sorted(origin.parent.rglob("*.py"))
    return [origin]


def plugin_hash(name: str) -> str:
    """16 hex digits of the SHA-256 over the plugin's source files (names and contents)."""
    h = hashlib.sha256()
    files = plugin_files(name)
    root = files[0].parent
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def plugin_sources(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Plugin name -> :func:`plugin_hash`, the part of a run's identity that plugins add."""
    return {name: plugin_hash(name) for name in names}


def import_plugin(name: str) -> ModuleType:
    """Import plugin ``name`` (again, if its source changed since this process imported it).

    Raises
    ------
    PluginError
        One line naming the plugin and the reason, when it cannot be found or its import
        raised.
    """
    digest = plugin_hash(name)
    try:
        module = sys.modules.get(name)
        if module is not None and _IMPORTED.get(name) not in (None, digest):
            module = importlib.reload(module)
        elif module is None:
            module = importlib.import_module(name)
    except Exception as err:  # noqa: BLE001 - any error inside the user's module
        raise PluginError(_failed_inside(name, err)) from None
    _IMPORTED[name] = digest
    return module


def load_plugins(names: tuple[str, ...] | list[str]) -> None:
    """Import every plugin of ``names`` in order (see :func:`import_plugin`)."""
    for name in names:
        import_plugin(name)


def _failed_inside(name: str, err: Exception) -> str:
    """The plugin was found but its import raised: the error, and the file and line of the plugin where."""
    reason = " ".join(f"{type(err).__name__}: {err}".split())
    if isinstance(err, SyntaxError) and err.filename:
        where = f"{err.filename}, line {err.lineno}"
    else:
        own = {str(p.resolve()) for p in plugin_files(name)}
        frames = [f for f in traceback.extract_tb(err.__traceback__) if str(Path(f.filename).resolve()) in own]
        where = f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ", ".join(sorted(own))
    return f"plugin {name!r} cannot be imported ({reason}) at {where}; fix the plugin there."


def _cannot_import(name: str, reason: str) -> str:
    reason = " ".join(reason.split())  # one line, whatever the module's error said
    return (
        f"plugin {name!r} cannot be imported ({reason}); put {name}.py in the current folder "
        f"({os.getcwd()}) or its folder on PYTHONPATH."
    )
