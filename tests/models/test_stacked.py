"""StackedBackbone with recurrent modules: each runs once per copy, equal to the solo module (issue 30, item 1)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from spcl_diag.models import stacked as stacked_module
from spcl_diag.models.base import Backbone, ModelOutput
from spcl_diag.models.stacked import StackedBackbone, StackingError, check_stackable

COPIES = 3
LENGTHS = torch.tensor([7, 5, 3, 2])  # of the 4 sequences of the input [4, 7, 4]


def last_state(output):
    """``h_n`` of an RNN / GRU output, ``(h_n, c_n)``'s ``c_n`` of an LSTM's."""
    return output[1][1] if isinstance(output[1], tuple) else output[1]


class Recurrent(Backbone):
    """One recurrent module over a ``[4, 7, 4]`` input; logits from its outputs and its last state."""

    def __init__(self, module, *, packed=False):
        super().__init__("t", 3)
        self.branches["t"] = module
        self.packed = packed

    def forward(self, x):
        module = self.branches["t"]
        if isinstance(module, nn.RNNBase):
            module.flatten_parameters()  # as much MERC code does on a GPU; inside a stack it does nothing
        if self.packed:
            out, state = module(pack_padded_sequence(x, LENGTHS, batch_first=True))
            out = pad_packed_sequence(out, batch_first=True)[0]
            output = (out, state)
        else:
            output = module(x, hx=None) if isinstance(module, nn.RNNBase) else module(x[:, 0])
        out = output[0] if isinstance(output, tuple) else output
        logits = out.reshape(-1, out.shape[-1])[:, :3] + last_state(output).sum() if isinstance(output, tuple) \
            else out[:, :3]
        return ModelOutput(joint=logits, per_modality={"t": logits}, features={"t": out.reshape(-1, out.shape[-1])})


MODULES = {
    "gru-2-layers-bidirectional-dropout": lambda: nn.GRU(4, 5, num_layers=2, dropout=0.4, batch_first=True,
                                                         bidirectional=True),
    "lstm-3-layers-dropout-time-major": lambda: nn.LSTM(4, 5, num_layers=3, dropout=0.5),
    "rnn-relu": lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True),
    "gru-cell": lambda: nn.GRUCell(4, 5),
    "lstm-cell": lambda: nn.LSTMCell(4, 5),
}


def stack_of(model: Backbone) -> StackedBackbone:
    """A stack whose copies differ (a solo run's weights, perturbed per copy)."""
    stack = StackedBackbone(model, COPIES)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in stack.params.values():
            p.add_(0.1 * torch.randn(p.shape, generator=generator))
    return stack


def loss(output: ModelOutput) -> torch.Tensor:
    return output.joint.square().sum() + output.features["t"].sum()


CASES = [(name, False) for name in sorted(MODULES)] + [(name, True) for name in sorted(MODULES) if "cell" not in name]


@pytest.mark.parametrize(("name", "packed"), CASES, ids=[f"{n}-{'packed' if p else 'padded'}" for n, p in CASES])
def test_a_stacked_recurrent_module_equals_each_copy_run_alone(name, packed):
    """Outputs, features and every gradient of each copy equal the solo module's on its weights (torch's own
    kernel; float32 rounding from the stacked sums), dropout between layers draws the solo masks, and the
    random generator ends where one solo call leaves it."""
    torch.manual_seed(0)
    stack = stack_of(Recurrent(MODULES[name](), packed=packed))
    x = torch.randn(4, 7, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning but pad_packed_sequence's
        warnings.filterwarnings("ignore", message="There is a performance drop.*_pad_packed_sequence")
        check_stackable(stack, x)
        torch.manual_seed(5)
        output = stack.train()(x)
    loss(output).backward()
    after = torch.rand(4)
    for copy in range(COPIES):
        solo = stack.unstack(stack.state(copy)).train()
        torch.manual_seed(5)
        expected = solo(x)
        loss(expected).backward()
        assert torch.equal(torch.rand(4), after), "the random generator moved differently"
        torch.testing.assert_close(output.joint[copy], expected.joint, rtol=1.3e-6, atol=1e-6)
        torch.testing.assert_close(output.features["t"][copy], expected.features["t"], rtol=1.3e-6, atol=1e-6)
        for param_name, p in solo.named_parameters():
            torch.testing.assert_close(stack.params[param_name].grad[copy], p.grad, rtol=1.3e-6, atol=1e-5, msg=param_name)
    assert not {"forward", "flatten_parameters"} & set(vars(stack.template.branches["t"]))  # the class's again


def test_the_module_forward_is_restored_when_the_stacked_call_fails():
    class Fails(Recurrent):
        def forward(self, x):
            self.branches["t"](x)
            raise ValueError("boom")

    stack = StackedBackbone(Fails(nn.GRU(4, 5, batch_first=True)), 2)
    with pytest.raises(ValueError, match="boom"):
        stack(torch.randn(4, 7, 4))
    assert "forward" not in vars(stack.template.branches["t"])
    stack.template.branches["t"](torch.randn(4, 7, 4))  # the module works alone


def test_cudnn_dropout_between_layers_is_refused_in_one_sentence(monkeypatch):
    """cuDNN draws that dropout from a state of its own that advances once per copy: the stack refuses it."""
    monkeypatch.setattr(stacked_module, "_uses_cudnn", lambda module: True)
    with pytest.raises(StackingError) as caught:
        check_stackable(StackedBackbone(Recurrent(nn.GRU(4, 5, num_layers=2, dropout=0.1)), 2), torch.randn(4, 7, 4))
    message = str(caught.value)
    assert message.startswith("backbone Recurrent cannot be stacked (its GRU 'branches.t' draws its dropout")
    assert "\n" not in message and ". " not in message
    check_stackable(StackedBackbone(Recurrent(nn.GRU(4, 5, num_layers=2)), 2), torch.randn(4, 7, 4))  # no dropout


def test_a_backbone_vmap_cannot_run_is_one_sentence_naming_the_reason():
    class ReadsValues(Recurrent):
        def forward(self, x):
            output = super().forward(x)
            scale = 1.0 if output.joint.max().item() < 1e6 else 0.5
            return ModelOutput(joint=output.joint * scale, per_modality=output.per_modality)

    with pytest.raises(StackingError) as caught:
        check_stackable(StackedBackbone(ReadsValues(nn.Linear(4, 3)), 2), torch.randn(4, 7, 4))
    assert str(caught.value) == ("backbone ReadsValues cannot be stacked (torch.func.vmap over its parameters failed: "
                                 "vmap: It looks like you're calling .item() on a Tensor)")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["gru-cudnn", "lstm-cudnn"])
def test_a_stacked_cudnn_module_equals_each_copy_run_alone(name):
    """On a GPU each copy calls cuDNN on its own weights (compacted per call, without cuDNN's warning about it)."""
    cls = nn.GRU if name.startswith("gru") else nn.LSTM
    torch.manual_seed(0)
    stack = stack_of(Recurrent(cls(4, 5, num_layers=2, batch_first=True, bidirectional=True)).cuda())
    x = torch.randn(4, 7, 4, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_stackable(stack, x)
        output = stack.train()(x)
    loss(output).backward()
    for copy in range(COPIES):
        solo = stack.unstack(stack.state(copy)).train()
        expected = solo(x)
        loss(expected).backward()
        torch.testing.assert_close(output.joint[copy], expected.joint, rtol=1e-5, atol=1e-5)
        for param_name, p in solo.named_parameters():
            torch.testing.assert_close(stack.params[param_name].grad[copy], p.grad, rtol=1e-5, atol=1e-5, msg=param_name)
    with pytest.raises(StackingError, match="draws its dropout between layers from cuDNN"):
        check_stackable(stack_of(Recurrent(cls(4, 5, num_layers=2, dropout=0.1)).cuda()), x)
