"""Shared fixtures: tiny configurations that train in a second or two on CPU."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
# The unit-test models are tiny: one intra-op thread is faster than two, and it keeps the
# suite from oversubscribing a 2-core CI machine.
torch.set_num_threads(1)

from spcl_diag import RunConfig
from spcl_diag.data.registry import resolve_data_dir
from spcl_diag.errors import DataFormatError

TINY = {
    "train.epochs": 3,
    "train.batch_size": 4,
    "data.synthetic.n_dialogues": 16,
    "data.synthetic.min_length": 3,
    "data.synthetic.max_length": 8,
    "model.hidden_dim": 16,
    "model.feedforward_dim": 32,
}


@pytest.fixture
def tiny_config() -> RunConfig:
    """A late-fusion synthetic run small enough for unit tests (about a second on CPU)."""
    return RunConfig(dataset="synthetic", backbone="late_fusion", modalities="tav").with_overrides(TINY)


def shared_data_dir() -> Path | None:
    """The shared IEMOCAP/MELD folder as runs find it (``resolve_data_dir``), or None."""
    try:
        return resolve_data_dir()
    except DataFormatError:
        return None


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder; the test is skipped with the reason when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("needs ../shared/data (real IEMOCAP/MELD structure); set SPCL_DIAG_DATA to its path")
    return path


@pytest.fixture
def backbone_registry():
    """The backbone registry, restored after the test (for tests that register backbones)."""
    from spcl_diag.models import BACKBONES

    saved = dict(BACKBONES)
    yield BACKBONES
    BACKBONES.clear()
    BACKBONES.update(saved)


def pytest_collection_modifyitems(config, items):
    """Mark every test that trains a model ``trains`` (the rule: ``tests/training_tests.py``), and group
    the tests that share a fixture wider than one test (see :func:`_shared_fixture_group`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("training_tests", Path(__file__).with_name("training_tests.py"))
    rule = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rule)
    root = Path(config.rootpath)
    for item in items:
        path = Path(str(item.fspath))
        key = f"{path.relative_to(root).as_posix()}::{getattr(item, 'originalname', item.name)}"
        if hasattr(item, "dtest"):  # a doctest
            trains = rule.doctest_trains("\n".join(e.source for e in item.dtest.examples))
        else:
            trains = key in rule.ALSO_TRAINS or rule.function_trains(path, getattr(item, "originalname", item.name), root)
        if trains:
            item.add_marker(pytest.mark.trains)
        group = _shared_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _shared_fixture_group(item) -> str | None:
    """Where the widest-scoped fixture ``item`` uses is defined, if any fixture is wider than a test.

    Under ``pytest -n auto --dist loadgroup`` (the README's test command and ``addopts``) the tests of
    one group run on one worker, so a module- or session-scoped fixture (a trained batch, a report)
    is built once, not once per worker that happens to get one of its tests.
    """
    fixtures = getattr(item, "_fixtureinfo", None)
    if fixtures is None:  # a doctest
        return None
    shared = sorted({d.baseid for defs in fixtures.name2fixturedefs.values() for d in defs
                     if d.scope != "function" and d.baseid})
    return shared[0] if shared else None


@pytest.fixture(autouse=True)
def _signal_state():
    """Leave SIGINT and SIGTERM as the test found them (handlers and the blocked mask).

    A child process inherits an ignored or blocked signal, so a test that changed them (an
    in-process Ray driver, a worker initialiser) would make a later test's ``spcl-diag``
    subprocess deaf to the Ctrl-C it sends.
    """
    import signal

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    for sig, handler in handlers.items():
        if signal.getsignal(sig) is not handler and handler is not None:
            signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
