"""BiDDIN's recurrence helpers against torch's own cells."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spcl_diag.models.biddin import gru_update


def test_gru_update_from_input_and_hidden_gates_equals_gru_cell():
    torch.manual_seed(0)
    cell = nn.GRUCell(7, 5)
    x, h = torch.randn(4, 7), torch.randn(4, 5)
    expected = cell(x, h)
    actual = gru_update(F.linear(x, cell.weight_ih, cell.bias_ih), F.linear(h, cell.weight_hh, cell.bias_hh), h)
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=1e-6)


def test_gru_update_splits_the_input_projection_of_a_concatenated_input():
    torch.manual_seed(1)
    cell = nn.GRUCell(7 + 3, 5)
    x, state, h = torch.randn(4, 7), torch.randn(4, 3), torch.randn(4, 5)
    gates = F.linear(x, cell.weight_ih[:, :7], cell.bias_ih) + F.linear(state, cell.weight_ih[:, 7:])
    hidden_gates = F.linear(h, cell.weight_hh, cell.bias_hh)
    torch.testing.assert_close(gru_update(gates, hidden_gates, h), cell(torch.cat([x, state], -1), h), atol=1e-6, rtol=1e-6)
