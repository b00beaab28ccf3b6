"""Conversations in memory, the feature-file loaders (:func:`load`) and the benchmarks."""

from __future__ import annotations

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders import FORMATS, load

__all__ = ["FORMATS", "ConversationDataset", "load"]
