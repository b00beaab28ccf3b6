"""Calibrate the simulated audio and visual features of ``iemocap-text`` and ``meld-text``.

For each benchmark and modality, train a context-free multinomial logistic regression
(torch, full-batch L-BFGS, standardised features, small L2 penalty) on the train and dev
utterances and report the test weighted-F1 next to the calibration target. With
``--search`` it also bisects the signal scale ``s_m`` of each simulated modality until the
reached weighted-F1 is within ``--tolerance`` of its target, and prints the scales to put
into ``spcl_diag.data.semisynthetic.SEMISYNTHETIC``.

Usage::

    python analyses/calibrate_semisynthetic.py [--data-dir DIR] [--seed 0] [--search]

The recorded output is in docs/datasets.md.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from spcl_diag.data.registry import resolve_data_dir
from spcl_diag.data.semisynthetic import SEMISYNTHETIC, make_semisynthetic
from spcl_diag.metrics.classification import weighted_f1


def unimodal_wf1(x: np.ndarray, labels: np.ndarray, train: np.ndarray, *, l2: float = 1e-3) -> float:
    """Test weighted-F1 of a logistic regression fitted on the ``train`` rows of ``x``."""
    torch.manual_seed(0)
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std).float()
    y = torch.from_numpy(labels).long()
    n_classes = int(labels.max()) + 1
    model = torch.nn.Linear(x.shape[1], n_classes)
    optimiser = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    rows = torch.from_numpy(np.flatnonzero(train))

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt[rows]), y[rows]) + l2 * model.weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        predictions = model(xt[~train]).argmax(1).numpy()
    return weighted_f1(labels[~train], predictions, n_classes=n_classes)


def reached(name: str, data_dir: str, seed: int, strength: dict[str, float] | None = None) -> dict[str, float]:
    """Test weighted-F1 per modality of benchmark ``name``."""
    data = make_semisynthetic(name, data_dir, seed=seed, strength=strength)
    train = np.repeat(data.splits != "test", data.lengths)
    return {m: unimodal_wf1(data.features[m], data.labels, train) for m in data.modalities}


def search(name: str, data_dir: str, seed: int, modality: str, tolerance: float) -> float:
    """Bisect the signal scale of ``modality`` until its weighted-F1 meets the target."""
    target = SEMISYNTHETIC[name].targets[modality]
    low, high = 0.0, 1.5
    for _ in range(14):
        mid = (low + high) / 2
        score = reached(name, data_dir, seed, {modality: mid})[modality]
        print(f"  {name} {modality}: s={mid:.4f} -> wF1 {score:.3f} (target {target:.2f})")
        if abs(score - target) <= tolerance:
            return mid
        low, high = (mid, high) if score < target else (low, mid)
    return (low + high) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="shared data folder (else $SPCL_DIAG_DATA, else ../shared/data)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default: %(default)s)")
    parser.add_argument("--search", action="store_true", help="bisect the signal scales to the targets")
    parser.add_argument("--tolerance", type=float, default=0.005, help="accepted |wF1 - target| (default: %(default)s)")
    args = parser.parse_args()
    data_dir = str(resolve_data_dir(args.data_dir))
    for name, spec in SEMISYNTHETIC.items():
        strength = dict(spec.strength)
        if args.search:
            strength = {m: round(search(name, data_dir, args.seed, m, args.tolerance), 4) for m in spec.strength}
            print(f"{name}: calibrated strength {strength}")
        scores = reached(name, data_dir, args.seed, strength)
        for m, score in scores.items():
            target = spec.targets.get(m)
            note = f"target {target:.2f}" if target is not None else "real text features"
            print(f"{name:13s} {m}: test weighted-F1 {score:.3f}  ({note}; s={strength.get(m, '-')})")


if __name__ == "__main__":
    main()
