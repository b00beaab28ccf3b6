"""The published layouts at the published sizes, through every entry point that reads a feature file.

Each supported pickle layout is written at test time with the real corpus structure and
counts (IEMOCAP 151 dialogues / 7,433 utterances, MELD 1,432 / 13,708;
:mod:`spcl_diag.data.standard_files`), then loaded, inspected and trained on from the
command line, each time with an empty conversion cache so that no ``.npz`` written by an
earlier version can hide a loader regression. The fast tests use small feature widths (the
layout and the counts are real); the ``slow`` ones use the formats' real widths.
"""

from __future__ import annotations

import json
import pickle
import pickletools
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from spcl_diag.cli.main import main
from spcl_diag.data import load
from spcl_diag.data.pickle_scan import nesting_depth
from spcl_diag.data.safe_pickle import MAX_NESTING
from spcl_diag.data.standard_files import (
    IEMOCAP_SIZE,
    MELD_SIZE,
    PICKLE_FORMATS,
    write_standard_file,
)

# Real counts (151 / 1,432 dialogues) at every layout: a minute or more of building and loading,
# so these run in the full suite, not in the fast lane (`-m "not trains and not slow"`).
pytestmark = pytest.mark.slow

SMALL = {"t": 6, "a": 5, "v": 4}
FEATURE_FORMATS = [f for f in PICKLE_FORMATS if not f.startswith("cosmic")]
TUPLE_FORMATS = ("mmgcn-iemocap", "dialoguegcn-iemocap", "mmgcn-meld")
TINY_MODEL = ["--model.hidden_dim=16", "--model.feedforward_dim=32", "--model.encoder_nlayers=1"]  # real widths, least compute


def expected_splits(fmt: str) -> dict[str, tuple[int, int | None]]:
    """(dialogues, utterances) per split as ``load`` returns them; None: not fixed by the corpus."""
    size = MELD_SIZE if "meld" in fmt else IEMOCAP_SIZE
    if fmt.startswith("cosmic"):  # the official dev set (validIds)
        return {split: size.splits[split] for split in ("train", "dev", "test")}
    train_dev = size.splits["train"][0] + size.splits["dev"][0]  # trainVid: train and dev together
    dev = int(0.1 * train_dev)  # the fixed dev split: the first 10 % of trainVid
    return {"train": (train_dev - dev, None), "dev": (dev, None), "test": size.splits["test"]}


@pytest.fixture(scope="module")
def small_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("layouts")
    return {fmt: write_standard_file(folder / f"{fmt}.pkl", fmt, dims=SMALL) for fmt in PICKLE_FORMATS}


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "empty-cache"
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("fmt", PICKLE_FORMATS)
def test_each_layout_loads_with_the_real_counts(fmt, small_files, fresh_cache):
    data = load(small_files[fmt])
    size = MELD_SIZE if "meld" in fmt else IEMOCAP_SIZE
    assert (data.n_dialogues, data.n_utterances) == (size.dialogues, size.utterances)
    summary = data.summary()["splits"]
    for split, (dialogues, utterances) in expected_splits(fmt).items():
        assert summary[split]["dialogues"] == dialogues, split
        assert utterances is None or summary[split]["utterances"] == utterances, split
    assert summary["train"]["utterances"] + summary["dev"]["utterances"] == size.utterances - size.splits["test"][1]
    assert int(data.lengths.max()) == size.max_length
    assert data.n_speakers == (9 if "meld" in fmt else 2)
    assert data.dims == ({} if fmt.startswith("cosmic") else SMALL)
    assert list(fresh_cache.glob("*.npz")), "the conversion cache entry was written"


@pytest.mark.parametrize("fmt", PICKLE_FORMATS)
def test_each_layout_nests_a_few_levels_deep(fmt, small_files):
    scan = nesting_depth(small_files[fmt].read_bytes(), limit=MAX_NESTING)
    assert scan.complete and not scan.piled_up
    # tuple/list -> dict -> list of rows -> array (or list of 9 ints), dict -> dict -> array
    assert scan.depth == (3 if fmt in ("spcl-iemocap", "spcl-meld", "cosmic-iemocap") else 4)


@pytest.mark.parametrize("fmt", PICKLE_FORMATS)
def test_layouts_are_pickled_as_the_originals(fmt, small_files):
    """Tuple files: protocol 2 from Python 2 (BINSTRING strings, ``__builtin__``, ``numpy.core``)."""
    raw = small_files[fmt].read_bytes()
    names = {op.name for op, _, _ in pickletools.genops(raw)}
    if fmt in TUPLE_FORMATS:
        assert raw[:2] == b"\x80\x02"
        assert "SHORT_BINSTRING" in names and "BINUNICODE" not in names
        assert b"numpy.core.multiarray\n_reconstruct\n" in raw
    else:
        assert raw[1] == pickle.DEFAULT_PROTOCOL
        assert "MEMOIZE" in names


@pytest.mark.parametrize("fmt", PICKLE_FORMATS)
def test_data_inspect_reports_the_real_counts_and_widths(fmt, small_files, capsys):
    assert main(["data", "inspect", str(small_files[fmt])]) == 0
    out = capsys.readouterr().out
    size = MELD_SIZE if "meld" in fmt else IEMOCAP_SIZE
    assert f"{size.dialogues} dialogues, {size.utterances} utterances" in out
    dialogues, utterances = expected_splits(fmt)["test"]
    assert f"test :   {dialogues:3d} dialogues,   {utterances:4d} utterances" in out
    assert ("none (labels only)" if fmt.startswith("cosmic") else "t 6, a 5, v 4") in out


@pytest.mark.parametrize("fmt", FEATURE_FORMATS)
def test_one_epoch_from_the_command_line(fmt, small_files, tmp_path, capsys):
    out = tmp_path / "runs"
    code = main(["run", "--dataset", str(small_files[fmt]), "--epochs", "1", "--out", str(out), "--device", "cpu",
                 "--quiet", *TINY_MODEL])
    assert code == 0, capsys.readouterr().err
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "result.json").read_text())["status"] == "ok"
    with np.load(run_dir / "predictions.npz") as predictions:
        assert len(predictions["test_labels"]) == expected_splits(fmt)["test"][1]


def test_a_labels_only_file_is_refused_for_training_in_one_line(small_files, tmp_path, capsys):
    code = main(["run", "--dataset", str(small_files["cosmic-iemocap"]), "--epochs", "1", "--out", str(tmp_path)])
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert len(err) == 1 and "labels and dialogue structure only, no modality features" in err[0]


# ----------------------------------------------------------- every entry point that reads a file
@pytest.fixture(scope="module")
def trained(small_files, tmp_path_factory) -> Path:
    """One finished run on the MMGCN IEMOCAP layout (its model.pt is what evaluate and probe read)."""
    out = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPCL_DIAG_CACHE", str(out / "cache"))
        assert main(["run", "--dataset", str(small_files["mmgcn-iemocap"]), "--epochs", "1", "--out", str(out / "runs"),
                     "--device", "cpu", "--quiet", *TINY_MODEL]) == 0
    (run_dir,) = (out / "runs").iterdir()
    return run_dir


def test_evaluate_reads_the_file_again(trained, fresh_cache, capsys):
    assert main(["evaluate", str(trained), "--mask", "a", "--json"]) == 0
    assert list(fresh_cache.glob("*.npz")), "evaluate parsed the pickle through the loader"
    assert json.loads(capsys.readouterr().out)["mask"] == "a"


def test_probe_reads_the_file_again(trained, fresh_cache, capsys):
    assert main(["probe", str(trained)]) == 0
    assert list(fresh_cache.glob("*.npz"))


def test_batch_trains_on_the_file(small_files, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(f'dataset = "{small_files["spcl-meld"]}"\ncurriculum = ["none"]\nseed = [0]\n[overrides]\n'
                    '"train.epochs" = 1\n"model.hidden_dim" = 16\n"model.feedforward_dim" = 32\n')
    assert main(["batch", str(grid), "--out", str(tmp_path / "runs"), "--device", "cpu", "--quiet"]) == 0
    (result,) = (tmp_path / "runs").glob("*/result.json")
    assert json.loads(result.read_text())["status"] == "ok"


def test_tune_trains_on_the_file(small_files, tmp_path):
    grid = tmp_path / "tune.toml"
    grid.write_text(f'dataset = "{small_files["spcl-iemocap"]}"\ncurriculum = ["none"]\n[overrides]\n'
                    '"train.epochs" = 1\n"model.hidden_dim" = 16\n"model.feedforward_dim" = 32\n'
                    '[axes]\n"train.lr" = [1e-4, 1e-3]\n')
    assert main(["tune", str(grid), "--out", str(tmp_path / "runs"), "--tune-seeds", "1", "--eval-seeds", "1",
                 "--device", "cpu", "--quiet"]) == 0
    record = json.loads((tmp_path / "runs" / "tune.json").read_text())
    assert len(record["eval_run_ids"]) == 1


def test_validate_and_convert_keep_every_utterance(small_files, tmp_path, capsys):
    source = small_files["mmgcn-meld"]
    assert main(["data", "validate", str(source)]) == 0
    assert "1432 dialogues, 13708 utterances" in capsys.readouterr().out
    bundle = tmp_path / "meld.npz"
    assert main(["data", "convert", str(source), str(bundle)]) == 0
    assert zipfile.is_zipfile(bundle)
    converted, original = load(bundle), load(source, cache=False)
    assert converted.n_utterances == 13_708
    for m in "tav":
        np.testing.assert_array_equal(converted.features[m], original.features[m])
    np.testing.assert_array_equal(converted.labels, original.labels)


def test_the_cache_entry_holds_what_the_pickle_holds(small_files, fresh_cache):
    source = small_files["dialoguegcn-iemocap"]
    parsed = load(source)
    assert len(list(fresh_cache.glob("*.npz"))) == 1
    again = load(source)  # read back from the entry
    assert again.source_format == parsed.source_format
    for m in "tav":
        np.testing.assert_array_equal(again.features[m], parsed.features[m])
    np.testing.assert_array_equal(again.offsets, parsed.offsets)
    assert list(again.dialogue_ids) == list(parsed.dialogue_ids)


# ----------------------------------------------------------------------------- real widths
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mmgcn-iemocap", "spcl-iemocap", "spcl-meld"])
def test_loading_at_the_real_widths_needs_at_most_twice_the_features(fmt, tmp_path, fresh_cache):
    """Peak memory allocated by ``load`` (parse, checks, cache entry) <= 2x the float32 features.

    Measured with :mod:`tracemalloc` (numpy reports its buffers to it): what the loader
    allocates, without the allocator's own fragmentation.
    """
    path = write_standard_file(tmp_path / f"{fmt}.pkl", fmt)
    tracemalloc.start()
    try:
        data = load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    features = sum(x.nbytes for x in data.features.values())
    assert data.source_format == fmt  # the real widths select the exact format
    assert data.n_utterances == (MELD_SIZE if "meld" in fmt else IEMOCAP_SIZE).utterances
    assert peak <= 2 * features, (peak, features)


@pytest.mark.slow
def test_the_spcl_reference_layout_trains_from_the_command_line(tmp_path, fresh_cache, capsys):
    """The file the SPCL authors' code reads (``data/iemocap/iemocap.pkl``), full size and widths, one epoch."""
    path = write_standard_file(tmp_path / "iemocap.pkl", "spcl-iemocap")
    out = tmp_path / "runs"
    code = main(["run", "--dataset", str(path), "--backbone", "late_fusion", "--curriculum", "spcl", "--epochs", "1",
                 "--out", str(out), "--device", "cpu", "--quiet", *TINY_MODEL])
    assert code == 0, capsys.readouterr().err
    (run_dir,) = out.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["dataset_summary"]["format"] == "spcl-iemocap"
    assert config["dataset_summary"]["dims"] == {"t": 768, "a": 512, "v": 1024}
    assert json.loads((run_dir / "result.json").read_text())["status"] == "ok"
