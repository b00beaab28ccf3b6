"""One real stacked cell per backbone and dataset on one device, and the projected wall time of the 1,280-run study.

The study of issue 19: 4 backbones (late fusion, MMGCN, MM-DFN, DialogueGCN) x 4 modality sets x
2 datasets x 4 arms (none, spcl, random, anti) x 10 seeds, about 60 epochs each. The target is
one H100-hour for its 1,280 runs.

For every backbone and dataset this runs one cell of that study as a real batch
(``run_batch(..., stack="arms")``, :func:`training_speed.batch_throughput`): the 4 arms of each
of ``--seeds`` seeds, each seed's arms trained as one stacked model by one of ``--seeds``
worker processes, all at once on the device, with the run directories and the end-of-run
masked and permuted evaluation of every run. The data has the real IEMOCAP and MELD dialogue
structure (``../shared/data``; a synthetic stand-in of the same size otherwise) with random
features at the SPCL widths, modalities ``tav``. Printed (JSON rows): per cell the wall
seconds, run-epochs per second and runs per hour at 50 epochs; then the projected hours of the
study (:func:`training_speed.project_study`: the sum over cells of 160 runs over the cell's
runs per hour). The projection counts every modality set as ``tav``, an upper bound, and
scales process start, data loading and the end-of-run evaluation with the epochs when
``--epochs`` is below 50, which errs on the slow side too. ``--solo`` measures the same cells
unstacked (two waves of single runs) for comparison.

    python benchmarks/gpu_study.py --device cuda --seeds 4 --epochs 10
    python benchmarks/gpu_study.py --device cuda --seeds 4 --epochs 10 --solo
    python benchmarks/gpu_study.py --device cpu --seeds 1 --epochs 1 --backbones late_fusion --datasets iemocap
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from training_speed import (
    STUDY_BACKBONES,
    batch_throughput,
    dataset_reference,
    project_study,
    shaped_dataset,
)

from spcl_diag.data.registry import resolve_data_dir
from spcl_diag.errors import DataFormatError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=list(STUDY_BACKBONES))
    parser.add_argument("--datasets", nargs="+", default=["iemocap", "meld"], choices=["iemocap", "meld"])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per cell = worker processes (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run (default: %(default)s)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--solo", action="store_true", help="train the runs one at a time instead of stacked")
    args = parser.parse_args()
    try:
        data_dir: Path | None = resolve_data_dir(None)
    except DataFormatError:
        data_dir = None
    device = torch.device(args.device)
    common = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "seeds": args.seeds}
    rows = []
    with tempfile.TemporaryDirectory(prefix="spcl-gpu-study-") as scratch:
        for dataset_name in args.datasets:
            dataset, origin = shaped_dataset(dataset_name, data_dir)
            reference = dataset_reference(dataset_name, dataset, Path(scratch))
            for backbone in args.backbones:
                row = {"dataset": dataset_name, "data": origin, **batch_throughput(
                    backbone, reference, jobs=args.seeds, epochs=args.epochs, device=args.device, data_dir=data_dir,
                    out=Path(scratch) / f"{dataset_name}-{backbone}", stack=None if args.solo else "arms")}
                rows.append(row)
                print(json.dumps({**common, **row}), flush=True)
    print(json.dumps({**common, **project_study(rows)}), flush=True)


if __name__ == "__main__":
    main()
