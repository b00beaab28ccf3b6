"""MM-DFN carries the reference's gates: one per ordered pair of modalities."""

from __future__ import annotations

import torch

from spcl_diag.models.mm_dfn import MMDFN, MMDFNConfig

REFERENCE_DIMS = {"t": 768, "a": 512, "v": 1024}


def _n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_at_the_reference_sizes():
    # the reference's 35,759,898 less its unused 2 x 200 speaker embedding
    with torch.device("meta"):  # shapes only, no initialisation cost
        model = MMDFN("tav", REFERENCE_DIMS, 6, 2)
    assert _n_parameters(model) == 35_759_898 - 400


def test_one_gate_per_ordered_pair():
    config = MMDFNConfig(hidden_dim=8, feedforward_dim=16)
    for modalities, pairs in (("tav", 6), ("ta", 2), ("v", 0)):
        model = MMDFN(modalities, {m: 4 for m in modalities}, 3, 2, config)
        assert len(model.gates) == pairs, modalities


def test_batched_gates_equal_the_pairwise_loop():
    torch.manual_seed(0)
    model = MMDFN("tav", {m: 4 for m in "tav"}, 3, 2, MMDFNConfig(hidden_dim=8, feedforward_dim=16))
    u = torch.randn(3, 5, 8)
    expected = torch.zeros_like(u)
    for k, (i, j) in enumerate(zip(model._first.tolist(), model._second.tolist())):
        gamma = torch.sigmoid(model.gates[k](torch.cat([u[i], u[j], u[i] * u[j]], dim=-1)))
        expected[i] += gamma * u[i] + (1 - gamma) * u[j]
    torch.testing.assert_close(model._fuse(u), expected)
