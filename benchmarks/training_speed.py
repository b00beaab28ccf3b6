"""Speed of the full instrumented SPCL training loop per backbone, on IEMOCAP and MELD shapes.

Unlike ``epoch_time.py`` (a bare optimiser step), this times what a user runs:
``spcl_diag.train.loop.train_run`` with the ``spcl`` arm, difficulty scoring, selection,
per-modality gradient norms, trajectories and the dev/test evaluation of every epoch.

Shapes: the SPCL reference feature file (``data/<ds>/<ds>.pkl``) written at the real size of
IEMOCAP and MELD (dialogue, utterance and split counts, longest dialogue) with random features
at the SPCL widths (IEMOCAP t/a/v 768/512/1024, MELD 768/300/342), and read through
``spcl_diag.data.load`` as a user's run reads it, so the cost matches the reference setting
and a loading regression cannot go unnoticed here.

Reported per (backbone, dataset): seconds per training epoch (median over epochs), seconds per
run of ``--epochs`` epochs including evaluation, the projected seconds of a 50-epoch run, peak
device memory (CUDA) or peak resident memory of the process (CPU), parameters.
``--concurrent N`` additionally measures the throughput of a real multi-seed batch
(``run_batch`` with the process executor and N workers; the four study arms x N seeds, tav),
reported as runs per hour at 50 epochs, and ends with the projected wall time of the 1,280-run
study (4 backbones x 4 modality sets x 2 datasets x 4 arms x 10 seeds) from those throughputs.
``--stack N`` times the first N arms trained as one stacked model instead, per run
(:mod:`spcl_diag.train.stacked`); ``benchmarks/gpu_study.py`` runs the stacked batches.

    python benchmarks/training_speed.py --device cpu --epochs 1 --datasets iemocap
    python benchmarks/training_speed.py --device cpu --epochs 1 --datasets iemocap --stack 4
    python benchmarks/training_speed.py --device cuda --epochs 5 --concurrent 1 4 8 --out results.jsonl
    python benchmarks/training_speed.py --device cpu --epochs 1 --datasets iemocap-text --backbones late_fusion \
        --concurrent 2 --batch-epochs 1      # the batch path, quickly
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from spcl_diag import RunConfig, __version__
from spcl_diag.batch import Grid, ProcessExecutor, run_batch
from spcl_diag.curriculum.arms import ARMS
from spcl_diag.data.batching import resolve_device
from spcl_diag.data.config import DataConfig
from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders.bundle import write_bundle
from spcl_diag.data.registry import resolve_data_dir, resolve_dataset
from spcl_diag.data.standard_files import write_standard_file
from spcl_diag.errors import DataFormatError
from spcl_diag.models import BACKBONES
from spcl_diag.train.loop import train_run
from spcl_diag.train.stacked import train_stacked

SPCL_WIDTHS = {"iemocap": {"t": 768, "a": 512, "v": 1024}, "meld": {"t": 768, "a": 300, "v": 342}}
SEMI_SYNTHETIC = ("iemocap-text", "meld-text")
_WRITTEN: dict[tuple[str, tuple[tuple[str, int], ...]], Path] = {}  # one file per shape and process


def shaped_dataset(name: str, data_dir: Path | None, widths: dict[str, int] | None = None) -> tuple[ConversationDataset, str]:
    """The SPCL reference layout at the corpus' real size, read through ``spcl_diag.data.load``.

    ``iemocap`` and ``meld`` write the file the SPCL authors' code reads (``data/<ds>/<ds>.pkl``,
    :func:`~spcl_diag.data.standard_files.write_standard_file`: the real dialogue, utterance
    and split counts, random features at the SPCL widths or ``widths``) and load it as a user's
    run does, so a loader regression shows here too. ``iemocap-text`` and ``meld-text`` are the
    semi-synthetic benchmarks themselves (text 384-d, simulated audio and visual 100-d each);
    ``widths`` does not apply to them.
    """
    config = DataConfig(data_dir=str(data_dir) if data_dir else None)
    if name in SEMI_SYNTHETIC:
        return resolve_dataset(name, config, modalities="tav"), "benchmark"
    widths = widths or SPCL_WIDTHS[name]
    key = (name, tuple(sorted(widths.items())))
    if key not in _WRITTEN:
        folder = Path(tempfile.mkdtemp(prefix="spcl-layout-"))
        _WRITTEN[key] = write_standard_file(folder / f"{name}.pkl", f"spcl-{name}", dims=widths)
    return resolve_dataset(str(_WRITTEN[key]), config, modalities="tav"), "SPCL layout, real counts, random features"


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_run(backbone: str, dataset: ConversationDataset, dataset_name: str, *, epochs: int, device: torch.device,
             seed: int = 0, stack: int = 1) -> dict[str, object]:
    """Train one ``spcl`` run of ``epochs`` epochs and time it.

    With ``stack`` > 1 the first ``stack`` arms of :data:`~spcl_diag.curriculum.arms.ARMS`
    train as one stacked model and every time is per run: the stack's divided by ``stack``.
    """
    config = RunConfig(dataset=dataset_name, backbone=backbone, curriculum="spcl", seed=seed)
    config = config.with_overrides({"train.epochs": epochs}).resolved()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    if stack > 1:
        outcomes = train_stacked([config.paired(arm) for arm in ARMS[:stack]], dataset, device=device)
        outcome = outcomes["spcl"]
        assert not isinstance(outcome, BaseException), outcome
    else:
        outcome = train_run(config, dataset, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    run_seconds = (time.perf_counter() - started) / stack
    epoch = statistics.median(outcome.epoch_seconds)  # a stacked run's share of the stacked epoch
    eval_per_epoch = max(0.0, (run_seconds - sum(outcome.epoch_seconds)) / epochs)
    return {
        "backbone": backbone,
        "stacked_runs": stack,
        "n_parameters": sum(p.numel() for p in outcome.model.parameters()),
        "epochs": epochs,
        "epoch_seconds": round(epoch, 3),
        "run_seconds": round(run_seconds, 3),
        "run50_seconds_projected": round(50 * (epoch + eval_per_epoch), 1),
        "peak_memory_mb": round(_peak_memory_mb(device), 1),
    }


STUDY_ARMS = ("none", "spcl", "random", "anti")
STUDY_BACKBONES = ("late_fusion", "mmgcn", "mm_dfn", "dialogue_gcn")
STUDY_RUNS_PER_CELL = 4 * len(STUDY_ARMS) * 10  # 4 modality sets x 4 arms x 10 seeds, per (backbone, dataset)


def dataset_reference(name: str, dataset: ConversationDataset, folder: Path) -> str:
    """What a run's ``dataset`` field says so that batch workers load ``dataset`` themselves.

    The registered benchmarks go by name; a shaped dataset is written once as a bundle file.
    """
    if name in SEMI_SYNTHETIC:
        return name
    path = folder / f"{name}-shape.npz"
    if not path.is_file():
        write_bundle(dataset, path)
    return str(path)


def batch_throughput(backbone: str, dataset: str, *, jobs: int, epochs: int, device: str,
                     data_dir: Path | None, out: Path, stack: str | None = None) -> dict[str, object]:
    """Runs per hour of a real multi-seed batch: ``run_batch`` with ``jobs`` worker processes.

    The grid is one cell of the study, tav: the four arms x ``jobs`` seeds, so each of the two
    waves (none and spcl, then the random and anti replays) keeps every worker busy. Runs per
    hour at 50 epochs are measured when ``epochs`` is 50; with fewer epochs the wall time is
    scaled by ``50 / epochs``, which scales process start, data loading and the end-of-run
    metrics too, so such a projection errs on the slow side (``"projected": true``). With
    ``stack="arms"`` each worker trains the four arms of its seed as one stacked model (one
    wave).
    """
    overrides: dict[str, object] = {"train.epochs": epochs}
    if data_dir is not None:
        overrides["data.data_dir"] = str(data_dir)
    grid = Grid(dataset=(dataset,), backbone=(backbone,), modalities=("tav",), curriculum=STUDY_ARMS,
                seed=tuple(range(jobs)), overrides=overrides)
    started = time.perf_counter()
    summary = run_batch(grid, out, executor=ProcessExecutor(jobs), device=device, progress=False, stack=stack)
    wall = time.perf_counter() - started
    if summary.counts["failed"]:
        raise RuntimeError(f"{summary.line()}; first failure: {summary.failed[0].message}")
    runs = summary.counts["done"]
    return {"backbone": backbone, "concurrent": jobs, "stack": stack, "runs": runs, "run_epochs": epochs,
            "wall_seconds": round(wall, 1), "run_epochs_per_second": round(runs * epochs / wall, 2),
            "runs_per_hour_50_epochs": round(runs * 3600 / (wall * 50 / epochs), 1), "projected": epochs != 50}


def project_study(throughputs: list[dict[str, object]]) -> dict[str, object]:
    """Projected hours of the 1,280-run study from the best measured throughput of each cell.

    ``hours = sum over (backbone, dataset) of 160 / best runs per hour``. Throughput is measured
    on tav, the costliest modality set, so this is an upper bound for the study's mix.
    """
    best: dict[tuple[str, str], float] = {}
    for row in throughputs:
        key = (str(row["backbone"]), str(row["dataset"]))
        best[key] = max(best.get(key, 0.0), float(row["runs_per_hour_50_epochs"]))  # type: ignore[arg-type]
    datasets = sorted({d for _, d in best})
    cells = [(b, d) for b in STUDY_BACKBONES for d in datasets]
    missing = [f"{b}/{d}" for b, d in cells if (b, d) not in best]
    hours = sum(STUDY_RUNS_PER_CELL / best[c] for c in cells if c in best)
    return {"study": f"{len(STUDY_BACKBONES)} backbones x 4 modality sets x {len(datasets)} datasets x 4 arms x 10 seeds",
            "study_runs": STUDY_RUNS_PER_CELL * len(cells), "projected_hours": round(hours, 2),
            "cells_missing": missing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=sorted(BACKBONES), choices=sorted(BACKBONES))
    parser.add_argument("--datasets", nargs="+", default=["iemocap", "meld"], choices=[*sorted(SPCL_WIDTHS), *SEMI_SYNTHETIC])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--stack", type=int, default=1, choices=range(1, len(ARMS) + 1), metavar="N",
                        help="time the first N arms trained as one stacked model, per run (default: solo)")
    parser.add_argument("--concurrent", type=int, nargs="*", default=[],
                        help="also measure the throughput of a real batch with N worker processes")
    parser.add_argument("--batch-epochs", type=int, default=50,
                        help="epochs of each run in the --concurrent batches (50 = the study's runs, measured, not projected)")
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data (else $SPCL_DIAG_DATA, else ../shared/data)")
    parser.add_argument("--out", type=Path, default=None, help="append JSON lines here too")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    common = {
        "date": dt.date.today().isoformat(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()}, {os.cpu_count()} cores)",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "spcl_diag": __version__,
    }
    try:
        data_dir: Path | None = resolve_data_dir(args.data_dir)
    except DataFormatError:
        data_dir = None  # synthetic stand-ins of the same size

    def emit(row: dict[str, object]) -> None:
        line = json.dumps({**common, **row})
        print(line, flush=True)
        if args.out:
            with args.out.open("a") as f:
                f.write(line + "\n")

    throughputs = []
    with tempfile.TemporaryDirectory(prefix="spcl-speed-") as scratch:
        for dataset_name in args.datasets:
            dataset, origin = shaped_dataset(dataset_name, data_dir)
            reference = dataset_reference(dataset_name, dataset, Path(scratch)) if args.concurrent else dataset_name
            for backbone in args.backbones:
                emit({"dataset": dataset_name, "data": origin, **time_run(backbone, dataset, dataset_name,
                                                                           epochs=args.epochs, device=device,
                                                                           stack=args.stack)})
                for n in args.concurrent:
                    out = Path(scratch) / f"{dataset_name}-{backbone}-{n}"
                    row = {"dataset": dataset_name, "data": origin,
                           **batch_throughput(backbone, reference, jobs=n, epochs=args.batch_epochs, device=str(device),
                                              data_dir=data_dir, out=out)}
                    throughputs.append(row)
                    emit(row)
    if throughputs:
        emit(project_study(throughputs))


if __name__ == "__main__":
    main()
