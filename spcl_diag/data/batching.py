"""Device-resident splits and padded batches.

A :class:`DeviceSplit` copies one split of a :class:`~spcl_diag.data.dataset.ConversationDataset`
to the device once. Batches are then built by indexing on the device: the host plans the
indices of a whole epoch in one vectorised pass and sends them in one copy, so a training
step makes no host-to-device copy and no per-utterance Python loop.

Utterances inside a batch are ordered dialogue-major (all of dialogue 0, then dialogue 1,
...). ``Batch.flatten`` turns a padded ``[B, L, ...]`` tensor into that ``[N, ...]`` order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from spcl_diag.data.dataset import ConversationDataset


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class Batch:
    """A padded batch of dialogues on the device.

    Attributes
    ----------
    features
        Modality -> ``[B, L, d_m]`` float32, zeros at padded positions.
    mask
        ``[B, L]`` bool, True at real utterances.
    lengths
        ``[B]`` int64 utterances per dialogue.
    speakers
        ``[B, L]`` int64 speaker index (0 at padding).
    labels
        ``[N]`` int64 gold labels of the ``N`` real utterances, dialogue-major.
    flat_index
        ``[N]`` int64 position of each real utterance in the flattened ``[B * L]`` grid.
    utterance_index
        ``[N]`` int64 row of each utterance within its split (for the training split this
        indexes the difficulty trajectories).
    dialogue
        ``[N]`` int64 batch-local dialogue (``0..B-1``) of each utterance.
    dialogue_index
        ``[B]`` int64 position of each dialogue within its split.
    n_utterances, max_length
        ``N`` and ``L`` as host integers (known without a device sync).
    """

    features: dict[str, Tensor]
    mask: Tensor
    lengths: Tensor
    speakers: Tensor
    labels: Tensor
    flat_index: Tensor
    utterance_index: Tensor
    dialogue: Tensor
    dialogue_index: Tensor
    n_utterances: int
    max_length: int

    @property
    def n_dialogues(self) -> int:
        return int(self.mask.shape[0])

    def flatten(self, padded: Tensor) -> Tensor:
        """``[B, L, ...]`` -> ``[N, ...]``: the real utterances, dialogue-major."""
        return padded.reshape(-1, *padded.shape[2:]).index_select(0, self.flat_index)

    def unflatten(self, flat: Tensor) -> Tensor:
        """``[N, ...]`` -> ``[B, L, ...]`` with zeros at padded positions."""
        out = flat.new_zeros(self.n_dialogues * self.max_length, *flat.shape[1:])
        out.index_put_((self.flat_index,), flat)  # index_copy_ has no batching rule under torch.func.vmap
        return out.view(self.n_dialogues, self.max_length, *flat.shape[1:])


class DeviceSplit:
    """One split of a dataset, resident on ``device`` as flat utterance arrays.

    Parameters
    ----------
    dataset
        The conversations.
    split
        ``"train"``, ``"dev"`` or ``"test"``.
    device
        Torch device for the tensors.
    """

    def __init__(self, dataset: ConversationDataset, split: str, device: torch.device | str):
        self.split = split
        self.device = torch.device(device)
        self.dialogues = dataset.dialogue_indices(split)  # positions in the dataset
        self.dialogue_ids = dataset.dialogue_ids[self.dialogues]
        self.lengths = dataset.lengths[self.dialogues].astype(np.int64)  # host, [D_s]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        rows = dataset.utterance_rows(self.dialogues)
        self.labels_host = dataset.labels[rows].astype(np.int64)
        self.speakers_host = dataset.speakers[rows].astype(np.int64)
        self.features = {
            m: torch.as_tensor(np.ascontiguousarray(x[rows])).to(self.device)
            for m, x in dataset.features.items()
        }
        self.labels = torch.as_tensor(self.labels_host).to(self.device)
        self.speakers = torch.as_tensor(self.speakers_host).to(self.device)
        self._lengths_device = torch.as_tensor(self.lengths).to(self.device)
        self._eval_batches: dict[int, list[Batch]] = {}

    @property
    def n_dialogues(self) -> int:
        return len(self.lengths)

    @property
    def n_utterances(self) -> int:
        return int(self.offsets[-1])

    @property
    def utterance_dialogue(self) -> np.ndarray:
        """``[U_s]`` position (within the split) of each utterance's dialogue."""
        return np.repeat(np.arange(self.n_dialogues), self.lengths)

    def batches(self, order: Sequence[int] | np.ndarray, batch_size: int) -> Iterator[Batch]:
        """Yield batches of ``batch_size`` dialogues in the given order of split positions."""
        order = np.asarray(order, dtype=np.int64)
        groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        plans = [self._plan(group) for group in groups]
        # One host-to-device copy for the whole epoch's indices.
        flat = torch.as_tensor(np.concatenate([np.concatenate(p) for p in plans])).to(self.device)
        start = 0
        for group, plan in zip(groups, plans):
            pieces = []
            for part in plan:
                pieces.append(flat[start : start + len(part)])
                start += len(part)
            yield self._gather(group, *pieces)

    def eval_batches(self, batch_size: int) -> list[Batch]:
        """The split in dataset order, batched once and cached (evaluation reuses them)."""
        if batch_size not in self._eval_batches:
            order = np.arange(self.n_dialogues)
            self._eval_batches[batch_size] = list(self.batches(order, batch_size))
        return self._eval_batches[batch_size]

    def _plan(self, group: np.ndarray) -> tuple[np.ndarray, ...]:
        """Host-side indices of a batch: grid position, split row, batch-local dialogue, group."""
        lengths = self.lengths[group]
        max_length = int(lengths.max())
        local = np.repeat(np.arange(len(group)), lengths)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        grid = local * max_length + within
        rows = np.repeat(self.offsets[group], lengths) + within
        return grid, rows, local, group

    def _gather(
        self, group: np.ndarray, grid: Tensor, rows: Tensor, local: Tensor, dialogue_index: Tensor
    ) -> Batch:
        B, n = len(group), len(grid)
        L = int(self.lengths[group].max())
        features = {}
        for m, x in self.features.items():
            padded = x.new_zeros(B * L, x.shape[1])
            padded.index_copy_(0, grid, x.index_select(0, rows))
            features[m] = padded.view(B, L, -1)
        mask = torch.zeros(B * L, dtype=torch.bool, device=self.device).index_fill_(0, grid, True)
        speakers = torch.zeros(B * L, dtype=torch.long, device=self.device)
        speakers.index_copy_(0, grid, self.speakers.index_select(0, rows))
        return Batch(
            features=features,
            mask=mask.view(B, L),
            lengths=self._lengths_device.index_select(0, dialogue_index),
            speakers=speakers.view(B, L),
            labels=self.labels.index_select(0, rows),
            flat_index=grid,
            utterance_index=rows,
            dialogue=local,
            dialogue_index=dialogue_index,
            n_utterances=n,
            max_length=L,
        )
