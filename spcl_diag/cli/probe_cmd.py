"""``spcl-diag probe RUN_DIR``: linear probes on a saved run's frozen model (:func:`spcl_diag.probe_run`)."""

from __future__ import annotations

import argparse
import json

from spcl_diag.cli.options import add_device_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="fit linear probes on a run's saved model",
        description="Freeze RUN_DIR/model.pt, fit a linear classifier per modality on its train-split "
        "representations and score dev and test; writes RUN_DIR/probe.json (columns "
        "test_probe_wf1_<m>, test_probe_acc_<m> of the run tables).",
    )
    parser.add_argument("run_dir", nargs="+", help="run directories with model.pt")
    add_device_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from spcl_diag.errors import ConfigError
    from spcl_diag.runs.scoring import probe_run

    for run_dir in args.run_dir:
        try:
            scores = probe_run(run_dir, device=args.device)
        except NotImplementedError as err:  # the backbone's forward returns no per-modality features: a plugin's to fix
            raise ConfigError(f"{run_dir}: {err} Or return ModelOutput(features={{modality: tensor}}) "
                              "from forward (docs/extending.md).") from None
        rounded = {s: {k: {m: round(v, 4) for m, v in per.items()} for k, per in ms.items()} for s, ms in scores.items()}
        print(json.dumps({"run_dir": str(run_dir), **rounded}))
    return 0
