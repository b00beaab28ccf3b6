"""The iemocap-text / meld-text benchmarks (need ../shared/data) and data-folder resolution."""

from __future__ import annotations

import numpy as np
import pytest

from spcl_diag.cli.main import main
from spcl_diag.data.config import DataConfig
from spcl_diag.data.registry import resolve_data_dir, resolve_dataset
from spcl_diag.data.semisynthetic import make_semisynthetic
from spcl_diag.errors import ConfigError, DataFormatError

from .helpers import iemocap_tuple, write_pickle


def test_iemocap_text_structure_and_determinism(shared_data):
    data = make_semisynthetic("iemocap-text", shared_data)
    assert data.dims == {"t": 384, "a": 100, "v": 100} and data.n_classes == 6
    assert data.n_dialogues == 151 and data.n_utterances == 7433
    assert [len(data.dialogue_indices(s)) for s in ("train", "dev", "test")] == [108, 12, 31]
    again = make_semisynthetic("iemocap-text", shared_data)
    np.testing.assert_array_equal(again.features["a"], data.features["a"])
    other = make_semisynthetic("iemocap-text", shared_data, seed=1)
    assert not np.array_equal(other.features["a"], data.features["a"])
    np.testing.assert_array_equal(other.features["t"], data.features["t"])  # text is real


def test_meld_text_via_registry(shared_data):
    data = resolve_dataset("meld-text", DataConfig(data_dir=str(shared_data)), modalities="av")
    assert data.modalities == "av" and data.n_dialogues == 1432 and data.n_utterances == 13708


def test_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SPCL_DIAG_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir(tmp_path / "..") == tmp_path / ".."
    with pytest.raises(DataFormatError, match="does not exist"):
        resolve_data_dir(tmp_path / "absent")
    with pytest.raises(DataFormatError, match=r"needs iemocap/iemocap_text_minilm.npz"):
        make_semisynthetic("iemocap-text", tmp_path)


def test_dataset_may_be_a_file_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(tmp_path / "cache"))
    path = write_pickle(iemocap_tuple(), tmp_path / "IEMOCAP_features.pkl")
    data = resolve_dataset(str(path), DataConfig(), modalities="ta")
    assert data.modalities == "ta" and data.dev_origin == "fixed"
    seeded = resolve_dataset(str(path), DataConfig(dev_split="seeded"), modalities="t", seed=3)
    assert seeded.dev_origin == "seeded"
    with pytest.raises(ConfigError, match="needs the run's dev-split seed"):
        resolve_dataset(str(path), DataConfig(dev_split="seeded"), modalities="t")
    with pytest.raises(DataFormatError, match="missing.pkl: file not found"):
        resolve_dataset(str(tmp_path / "missing.pkl"), DataConfig(), modalities="t")


def test_cli_inspect_validate_convert(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPCL_DIAG_CACHE", str(tmp_path / "cache"))
    path = write_pickle(iemocap_tuple(), tmp_path / "IEMOCAP_features.pkl")
    assert main(["data", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "format dialoguegcn-iemocap" in out and "t 100, a 100, v 512" in out and "hap" in out
    assert main(["data", "validate", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["data", "convert", str(path), str(tmp_path / "out.npz")]) == 0
    assert main(["data", "inspect", str(tmp_path / "out.npz"), "--json"]) == 0
    assert '"format": "npz"' in capsys.readouterr().out
    obj = iemocap_tuple()
    obj[2]["Ses02F_impro03"] = [0, 7]
    write_pickle(obj, tmp_path / "bad.pkl")
    assert main(["data", "validate", str(tmp_path / "bad.pkl")]) == 2
    assert "dialogue Ses02F_impro03, field 'labels'" in capsys.readouterr().err


def test_cli_inspect_benchmark(shared_data, capsys):
    assert main(["data", "inspect", "iemocap-text", "--data-dir", str(shared_data)]) == 0
    assert "iemocap-text: format semi-synthetic, 151 dialogues, 7433 utterances" in capsys.readouterr().out
