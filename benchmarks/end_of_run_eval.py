"""Time of the end-of-run masked and permuted evaluation of a late-fusion run, per evaluation batch size.

Trains one epoch of ``late_fusion`` (``spcl`` arm) on the IEMOCAP shapes of
``training_speed.py`` (real dialogue structure, random features at the SPCL widths; a
synthetic stand-in without the shared folder), then reports, for each
``train.eval_batch_size``: the median seconds of one evaluation of the test split
(``evaluate``, over ``--repeats``), and the seconds of the whole end-of-run contribution
evaluation (``_contribution_metrics``: the 2^M masked subsets and M x 3 permutations) with
the number of test-split evaluations it ran.

    SPCL_DIAG_DATA=../shared/data python benchmarks/end_of_run_eval.py --threads 2 --batch-sizes 16 32 64 128 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).parent))
from training_speed import shaped_dataset

from spcl_diag import RunConfig
from spcl_diag.data.registry import prepare_dataset, resolve_data_dir
from spcl_diag.errors import DataFormatError
from spcl_diag.evaluation import masking
from spcl_diag.runs.execute import _contribution_metrics
from spcl_diag.train.loop import evaluate, train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="iemocap", choices=["iemocap", "meld"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64, 128, 0],
                        help="dialogues per evaluation batch; 0 = the whole split in one batch")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        data_dir = resolve_data_dir(None)
    except DataFormatError:  # no shared folder: the synthetic stand-in
        data_dir = None
    raw, kind = shaped_dataset(args.dataset, data_dir)
    config = RunConfig(backbone="late_fusion", curriculum="spcl").with_overrides({"train.epochs": 1}).resolved()
    data = prepare_dataset(raw, config.data, modalities=config.modalities, seed=0)
    outcome = train_run(config, data, device=torch.device("cpu"))
    test = outcome.eval_splits["test"]
    print(f"# {args.dataset} ({kind}): test {test.n_dialogues} dialogues, {test.n_utterances} utterances", flush=True)
    for size in args.batch_sizes:
        bs = size or test.n_dialogues
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            evaluate(outcome.model, test, bs)
            times.append(time.perf_counter() - started)
        cfg = dataclasses.replace(config, train=dataclasses.replace(config.train, eval_batch_size=bs))
        with mock.patch.object(masking, "evaluate", wraps=masking.evaluate) as counted:
            started = time.perf_counter()
            _contribution_metrics(cfg, outcome)
            contribution = time.perf_counter() - started
        print(json.dumps({"eval_batch_size": size or "all", "evaluate_s": round(statistics.median(times), 3),
                          "contribution_s": round(contribution, 2), "evaluations": counted.call_count}), flush=True)


if __name__ == "__main__":
    main()
