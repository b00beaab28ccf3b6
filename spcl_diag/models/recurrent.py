r"""Recurrent cells written out in torch's gate order, so that ``torch.func.vmap`` batches them.

``torch.func.vmap`` has no batching rule for ``aten::lstm_cell`` and runs ``aten::gru_cell`` and
``aten::rnn_tanh_cell`` once per stacked copy, with a warning. Written out as two linear maps and
pointwise gates, a cell's step is a few batched operators for all copies at once:
:class:`~spcl_diag.models.stacked.StackedBackbone` steps ``nn.RNNCell``, ``nn.GRUCell`` and
``nn.LSTMCell`` with :func:`cell_step` while a stack runs, so a backbone that steps a cell in
Python stacks unchanged. :func:`gru_update` is also BiDDIN's step (:mod:`spcl_diag.models.biddin`).

Examples
--------
>>> import torch
>>> from torch import nn
>>> cell, x, h = nn.LSTMCell(3, 4), torch.randn(2, 3), (torch.randn(2, 4), torch.randn(2, 4))
>>> all(torch.allclose(a, b, atol=1e-6) for a, b in zip(cell_step(cell, x, h), cell(x, h)))
True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def gru_update(input_gates: Tensor, hidden_gates: Tensor, h: Tensor) -> Tensor:
    r"""A GRU update from its two projections, in torch's gate order (r, z, n).

    .. math:: r = \sigma(g^x_r + g^h_r),\ z = \sigma(g^x_z + g^h_z),\
              n = \tanh(g^x_n + r \odot g^h_n),\ h' = (1 - z) \odot n + z \odot h

    with :math:`g^x = W_{ih} x + b_{ih}` and :math:`g^h = W_{hh} h + b_{hh}` (each ``[..., 3H]``),
    as :class:`torch.nn.GRUCell` computes it. Taking the projections as inputs lets the
    recurrence project all time steps' inputs before its loop and step several cells at once.
    """
    i_r, i_z, i_n = input_gates.chunk(3, -1)
    h_r, h_z, h_n = hidden_gates.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)


def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    r"""An LSTM update ``(h', c')`` from its summed projections, in torch's gate order (i, f, g, o).

    .. math:: i, f, o = \sigma(g_i), \sigma(g_f), \sigma(g_o),\ \tilde c = \tanh(g_g),\
              c' = f \odot c + i \odot \tilde c,\ h' = o \odot \tanh(c')

    with :math:`g = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}` (``[..., 4H]``), as
    :class:`torch.nn.LSTMCell` computes it (Hochreiter and Schmidhuber, 1997; forget gate of
    Gers et al., 2000).
    """
    g_i, g_f, g_g, g_o = gates.chunk(4, -1)
    c_new = torch.sigmoid(g_f) * c + torch.sigmoid(g_i) * torch.tanh(g_g)
    return torch.sigmoid(g_o) * torch.tanh(c_new), c_new


def cell_step(cell: nn.RNNCellBase, input: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None,
              ) -> Tensor | tuple[Tensor, Tensor]:
    """``cell(input, hx)`` written out: what ``nn.RNNCell``, ``nn.GRUCell`` or ``nn.LSTMCell`` returns.

    ``input`` ``[N, in]`` or ``[in]``; ``hx`` the state (``(h, c)`` for an LSTM cell), zeros when ``None``.
    """
    zeros = input.new_zeros(*input.shape[:-1], cell.hidden_size)
    input_gates = F.linear(input, cell.weight_ih, cell.bias_ih)
    if isinstance(cell, nn.LSTMCell):
        h, c = (zeros, zeros) if hx is None else hx
        return lstm_update(input_gates + F.linear(h, cell.weight_hh, cell.bias_hh), c)
    h = zeros if hx is None else hx
    assert isinstance(h, Tensor)  # only an LSTM cell's state is a pair
    hidden_gates = F.linear(h, cell.weight_hh, cell.bias_hh)
    if isinstance(cell, nn.GRUCell):
        return gru_update(input_gates, hidden_gates, h)
    activation = torch.tanh if cell.nonlinearity == "tanh" else torch.relu
    return activation(input_gates + hidden_gates)
