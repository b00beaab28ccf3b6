"""Recurrent cells written out gate by gate against torch's own cells."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call, vmap

from spcl_diag.models.recurrent import cell_step

CELLS = {
    "rnn-tanh": lambda: nn.RNNCell(4, 5),
    "rnn-relu-no-bias": lambda: nn.RNNCell(4, 5, bias=False, nonlinearity="relu"),
    "gru": lambda: nn.GRUCell(4, 5),
    "gru-no-bias": lambda: nn.GRUCell(4, 5, bias=False),
    "lstm": lambda: nn.LSTMCell(4, 5),
}


def state(cell, shape):
    h = torch.randn(*shape, 5)
    return (h, torch.randn(*shape, 5)) if isinstance(cell, nn.LSTMCell) else h


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("shape", [(3,), ()], ids=["batched", "one-sequence"])
@pytest.mark.parametrize("given_state", [True, False], ids=["hx", "no-hx"])
def test_cell_step_equals_the_cell(name, shape, given_state):
    torch.manual_seed(0)
    cell = CELLS[name]()
    x = torch.randn(*shape, 4)
    hx = state(cell, shape) if given_state else None
    expected, actual = cell(x, hx), cell_step(cell, x, hx)
    for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (actual, expected))):
        torch.testing.assert_close(a, b, rtol=1.3e-6, atol=1e-6)


class Stepped(nn.Module):
    """``cell_step`` of a cell, as a module that ``functional_call`` can run on other weights."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        return cell_step(self.cell, x)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_step_runs_under_vmap_over_stacked_weights(name):
    """What torch's cells cannot do without a warning or at all (``aten::lstm_cell`` has no batching rule)."""
    torch.manual_seed(1)
    stepped = Stepped(CELLS[name]())
    weights = {k: torch.stack([p, 2 * p]).detach() for k, p in stepped.named_parameters()}
    x = torch.randn(3, 4)
    stacked = vmap(lambda w: functional_call(stepped, w, (x,)))(weights)
    for copy in range(2):
        expected = functional_call(stepped.cell, {k.removeprefix("cell."): w[copy] for k, w in weights.items()}, (x,))
        for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (stacked, expected))):
            torch.testing.assert_close(a[copy], b, rtol=1.3e-6, atol=1e-6)
