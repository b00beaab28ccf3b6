"""BiDDIN's recurrence helpers against torch's own cells."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spcl_diag.models.biddin import gru_step


def test_gru_step_with_precomputed_input_gates_equals_gru_cell():
    torch.manual_seed(0)
    cell = nn.GRUCell(7, 5)
    x, h = torch.randn(4, 7), torch.randn(4, 5)
    expected = cell(x, h)
    actual = gru_step(cell, F.linear(x, cell.weight_ih, cell.bias_ih), h)
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=1e-6)


def test_gru_step_splits_the_input_projection_of_a_concatenated_input():
    torch.manual_seed(1)
    cell = nn.GRUCell(7 + 3, 5)
    x, state, h = torch.randn(4, 7), torch.randn(4, 3), torch.randn(4, 5)
    gates = F.linear(x, cell.weight_ih[:, :7], cell.bias_ih) + F.linear(state, cell.weight_ih[:, 7:])
    torch.testing.assert_close(gru_step(cell, gates, h), cell(torch.cat([x, state], -1), h), atol=1e-6, rtol=1e-6)
