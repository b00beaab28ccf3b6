"""Parameter descriptions shared by the metric docstrings (see :mod:`spcl_diag.docstrings`)."""

from __future__ import annotations

from spcl_diag.docstrings import docfiller

PARAMETER_DOCS: dict[str, str] = {
    "probs": """probs
    Modality -> ``[N, C]`` softmax probabilities of that modality's head.""",
    "labels": """labels
    ``[N]`` gold classes.""",
}

fill_doc = docfiller(PARAMETER_DOCS)
