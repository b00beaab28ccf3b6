"""run(config, out, dataset=...): training on a dataset built in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spcl_diag import ConversationDataset, run
from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
from spcl_diag.runs import directory as rd

from ..conftest import TINY


def _memory(shift: float = 0.0) -> ConversationDataset:
    data = make_synthetic(SyntheticConfig(n_dialogues=16, min_length=3, max_length=8, seed=2))
    splits = np.where(data.splits == "dev", "train", data.splits)  # no dev set: taken from train
    return ConversationDataset.from_arrays(
        {m: x + shift for m, x in data.features.items()}, labels=data.labels, speakers=data.speakers,
        dialogue_ids=np.repeat(data.dialogue_ids, data.lengths), splits=np.repeat(splits, data.lengths),
        label_names=data.label_names, name="mine")


def test_run_on_a_memory_dataset_puts_its_content_in_the_run_id(tmp_path, tiny_config):
    config = tiny_config.with_overrides({"modalities": "ta"})
    data = _memory()
    first = run(config, tmp_path, dataset=data, device="cpu")
    assert first.status == "ok", (first.path / rd.ERROR).read_text()
    metadata = rd.read_json(first.path / rd.CONFIG)
    assert metadata["config"]["dataset"] == f"memory:mine:{data.fingerprint()}"
    train = data.dialogue_ids[data.splits == "train"]
    assert metadata["dataset_summary"]["dev_dialogues"] == train[:1].tolist()  # the fixed 10% rule of files
    assert set(first.result["test"]) == {"joint", "t", "a"}
    assert run(config, tmp_path, dataset=data, device="cpu").run_id == first.run_id  # read back, not retrained
    other = run(config.with_overrides({"train.epochs": TINY["train.epochs"]}), tmp_path, dataset=_memory(0.5),
                device="cpu")
    assert other.run_id != first.run_id and len(list(tmp_path.iterdir())) == 2


def test_out_dir_is_renamed_out_and_still_works_for_one_release(tmp_path, tiny_config):
    import inspect

    import pytest

    from spcl_diag import run_stack

    assert "out" in inspect.signature(run).parameters and "out_dir" not in inspect.signature(run).parameters
    assert "out" in inspect.signature(run_stack).parameters
    with pytest.warns(DeprecationWarning, match=r"run\(\): out_dir= is renamed out="):
        old = run(tiny_config, out_dir=tmp_path, device="cpu", progress=False)
    assert old.status == "ok" and old.path.parent == tmp_path
    assert run(tiny_config, out=tmp_path, device="cpu", progress=False).run_id == old.run_id  # read back
    with pytest.raises(TypeError, match="pass out= only"):
        run(tiny_config, out=tmp_path, out_dir=tmp_path)


def test_result_json_says_how_many_epochs_trained_when_early_stopping_ended_the_run(tmp_path, tiny_config):
    stopped = run(tiny_config.with_overrides({"train.patience": 1, "train.epochs": 8, "train.lr": 3e-2}), tmp_path,
                  device="cpu", progress=False)
    result = rd.read_json(stopped.path / rd.RESULT)
    trained = int(pd.read_csv(stopped.path / rd.EPOCHS)["epoch"].max())
    assert result["epochs"] == 8 and result["epochs_trained"] == trained < 8
    full = run(tiny_config, tmp_path, device="cpu", progress=False)
    assert "epochs_trained" not in rd.read_json(full.path / rd.RESULT)  # all configured epochs: only "epochs"
