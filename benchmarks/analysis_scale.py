"""The analysis side and the batch start-up at study scale: 1,280 runs, timed from outside.

Two folders are made without training:

* ``recorded/``: 1,280 runs written with :class:`~spcl_diag.RunRecorder` (8 cells = 2 datasets
  x 2 backbones x 2 modality sets, 4 arms, 40 seeds), each from a short loop of linear heads
  over simulated features, so every table, prediction and difficulty file is real;
* ``finished-<n>/``: the grid of a batch (4 arms x the seeds x the cells) with every run
  finished: one trained run's directory copied under each run id of the grid, its
  ``config.json`` naming that run. A re-run of the batch finds all of them complete.

Then each step runs in a fresh Python process, and its wall time is measured from outside
(imports included, as a user waits for it): ``load_runs``; ``compare`` over every cell;
``rank_arms``; ``spcl-diag ls``; ``spcl-diag report``; and ``spcl-diag batch`` re-running the
16-run and the 1,280-run finished grids. Each step is timed ``--repeat`` times; the median is
reported.

    python benchmarks/analysis_scale.py --work /tmp/scale            # folders kept for the next call
    python benchmarks/analysis_scale.py --work /tmp/scale --steps batch-16 batch-1280
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ARMS = ("none", "spcl", "random", "anti")
CELLS = [(d, b, m) for d in ("iemocap", "meld") for b in ("mmgcn", "late_fusion") for m in ("tav", "ta")]
N_SEEDS = 40
N_DIALOGUES, LENGTH, N_CLASSES, EPOCHS = 24, 6, 6, 4

STEPS: dict[str, str] = {  # name -> Python code run in a fresh process; {runs} is the folder
    "load_runs": "from spcl_diag import load_runs; load_runs({runs!r})",
    "compare": ("import numpy as np; from spcl_diag import compare, load_runs; "
                "compare(load_runs({runs!r}), 'test_wf1', by=['dataset', 'backbone', 'modalities'], "
                "rng=np.random.default_rng(0))"),
    "rank_arms": ("import numpy as np; from spcl_diag import load_runs; from spcl_diag.stats.ranking import rank_arms; "
                  "rank_arms(load_runs({runs!r}), 'test_wf1', rng=np.random.default_rng(0))"),
}
COMMANDS: dict[str, list[str]] = {  # name -> spcl-diag arguments; {runs} is the folder
    "ls": ["ls", "{runs}"],
    "report": ["report", "{runs}", "--out", "{work}/report/report.md"],
}


def record_study(out: Path) -> None:
    """Write the 1,280 recorded runs (seeded; arms differ by how strongly the heads see the label)."""
    import torch
    from torch import nn

    from spcl_diag import RunRecorder, SelfPacedCurriculum

    data = np.random.default_rng(2026)
    labels = data.integers(0, N_CLASSES, N_DIALOGUES * LENGTH)
    dialogue = np.repeat(np.arange(N_DIALOGUES), LENGTH)
    train_rows, test_rows = np.flatnonzero(dialogue < 16), np.flatnonzero(dialogue >= 16)
    y = torch.tensor(labels)
    for cell, (dataset, backbone, modalities) in enumerate(CELLS):
        noise = {"t": 1.0, "a": 2.5, "v": 3.5}
        x = {m: torch.tensor(np.eye(N_CLASSES)[labels] + data.normal(scale=noise[m], size=(len(labels), N_CLASSES)),
                             dtype=torch.float32) for m in modalities}
        for seed in range(N_SEEDS):
            for k, arm in enumerate(ARMS):
                torch.manual_seed(1000 * cell + seed)
                heads = nn.ModuleDict({m: nn.Linear(N_CLASSES, N_CLASSES) for m in modalities})
                optimiser = torch.optim.SGD(heads.parameters(), lr=0.2 + 0.05 * k)

                def predictions(rows: np.ndarray, heads: nn.ModuleDict = heads, x: dict = x) -> dict:
                    with torch.no_grad():
                        per = {m: heads[m](x[m][torch.from_numpy(rows)]) for m in x}
                    probs = {"joint": sum(per.values()).softmax(-1), **{m: z.softmax(-1) for m, z in per.items()}}
                    return {"labels": labels[rows], "probs": probs, "dialogue_id": dialogue[rows]}

                curriculum = SelfPacedCurriculum("none" if arm == "none" else "spcl", lambda0=0.5, growth=1.5)
                config = {"dataset": dataset, "backbone": backbone, "modalities": modalities, "curriculum": arm,
                          "seed": seed}
                recorder = RunRecorder(out, config, labels=labels[train_rows], dialogue_ids=dialogue[train_rows])
                order = np.random.default_rng(seed)
                for _ in range(EPOCHS):
                    for batch in np.array_split(order.permutation(len(train_rows)), 4):
                        rows = torch.from_numpy(train_rows[batch])
                        per = {m: heads[m](x[m][rows]) for m in modalities}
                        step = curriculum.step(sum(per.values()), per, y[rows],
                                               torch.from_numpy(dialogue[train_rows[batch]]))
                        optimiser.zero_grad()
                        step.loss.backward()
                        optimiser.step()
                        recorder.record(step, batch)
                    dev = predictions(test_rows)
                    recorder.log_predictions("dev", dev["probs"], dev["labels"])
                    curriculum.epoch_end()
                recorder.finish(curriculum, dev=dev, test=predictions(test_rows))
        print(f"recorded cell {cell + 1} of {len(CELLS)}", flush=True)


def grid_text(n_seeds: int, *, full: bool) -> str:
    """A grid of 4 arms x ``n_seeds``; ``full``: x 4 backbones x 4 modality sets x 2 data variants (1,280 at 10)."""
    backbones = ["late_fusion", "mmgcn", "mm_dfn", "dialogue_gcn"] if full else ["late_fusion"]
    modalities = ["tav", "ta", "tv", "av"] if full else ["tav"]
    variants = '[[variants]]\n"data.synthetic.n_dialogues" = 12\n' + (
        '[[variants]]\n"data.synthetic.n_dialogues" = 14\n' if full else "")
    return (f"backbone = {json.dumps(backbones)}\nmodalities = {json.dumps(modalities)}\n"
            f"curriculum = {json.dumps(list(ARMS))}\nseed = {list(range(n_seeds))}\n\n"
            '[overrides]\n"train.epochs" = 1\n"train.batch_size" = 4\n"data.synthetic.max_length" = 6\n'
            '"model.hidden_dim" = 8\n\n' + variants)


def finished_grid(work: Path, name: str, text: str) -> tuple[Path, Path, int]:
    """Write the grid and a folder in which every one of its runs is finished; (grid file, folder, runs)."""
    from spcl_diag import RunConfig, run
    from spcl_diag.batch import load_grid
    from spcl_diag.config.identity import identity_payload
    from spcl_diag.runs import directory as rd

    grid_path = work / f"{name}.toml"
    grid_path.write_text(text)
    configs = load_grid(grid_path).configs()
    out = work / name
    if out.is_dir() and sum(1 for p in out.iterdir() if (p / rd.RESULT).is_file()) == len(configs):
        return grid_path, out, len(configs)
    shutil.rmtree(out, ignore_errors=True)
    template = run(RunConfig().with_overrides({"train.epochs": 1, "data.synthetic.n_dialogues": 12,
                                               "model.hidden_dim": 8}), work / "template", device="cpu",
                   progress=False).path
    for config in configs:
        run_id = config.run_id()
        shutil.copytree(template, out / run_id)
        metadata = rd.read_json(out / run_id / rd.CONFIG)
        metadata.update(run_id=run_id, config=config.to_dict(), identity=identity_payload(config))
        rd.write_json(out / run_id / rd.CONFIG, metadata)
        result = rd.read_json(out / run_id / rd.RESULT)
        rd.write_json(out / run_id / rd.RESULT, {**result, "run_id": run_id})
    return grid_path, out, len(configs)


def timed(argv: list[str], repeat: int) -> float:
    """Median wall seconds of ``argv`` in a fresh process (it must succeed)."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs (kept and reused)")
    parser.add_argument("--repeat", type=int, default=3)
    names = [*STEPS, *COMMANDS, "batch-16", "batch-1280"]
    parser.add_argument("--steps", nargs="+", default=names, choices=names)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    recorded = args.work / "recorded"
    if any(s in STEPS or s in COMMANDS for s in args.steps) and not (recorded / "done").exists():
        shutil.rmtree(recorded, ignore_errors=True)
        record_study(recorded)
        (recorded / "done").write_text("")
    python = [sys.executable]
    for step in args.steps:
        if step in STEPS:
            argv = [*python, "-c", STEPS[step].format(runs=str(recorded))]
        elif step in COMMANDS:
            argv = [*python, "-m", "spcl_diag.cli.main",
                    *(a.format(runs=recorded, work=args.work) for a in COMMANDS[step])]
        else:
            n = int(step.split("-")[1])
            grid, out, n_runs = finished_grid(args.work, step, grid_text(4 if n == 16 else 10, full=n != 16))
            assert n_runs == n, f"{step}: the grid has {n_runs} runs"
            argv = [*python, "-m", "spcl_diag.cli.main", "batch", str(grid), "--out", str(out), "--quiet"]
        print(json.dumps({"step": step, "runs": 1280 if step in STEPS or step in COMMANDS else int(step[6:]),
                          "seconds": round(timed(argv, args.repeat), 2)}), flush=True)


if __name__ == "__main__":
    main()
