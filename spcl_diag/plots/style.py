"""Colours, line styles and labels shared by every figure.

:data:`MODALITY_COLORS` is the only source of modality colours in the package (a colour-blind
safe Okabe-Ito triple); arms have their own palette so the two never clash.
"""

from __future__ import annotations

from spcl_diag.modalities import MODALITY_NAMES

MODALITY_COLORS: dict[str, str] = {
    "t": "#0072B2",  # blue
    "a": "#E69F00",  # orange
    "v": "#009E73",  # green
    "joint": "#333333",  # the fused prediction
    "shared": "#999999",  # parameters no single modality owns
}

ARM_COLORS: dict[str, str] = {
    "none": "#4D4D4D",
    "spcl": "#CC3311",
    "random": "#7B68B5",
    "anti": "#B58900",
    "spcl-utterance": "#EE7733",
    "spcl-conversation": "#33BBEE",
    "baby-step": "#8C564B",
}
# Every arm has its own line style as well as its colour (readable in grey-scale print); the
# paced arms, whose kept fraction lies on spcl's, are dashed and dotted.
ARM_LINESTYLES: dict[str, str | tuple[int, tuple[int, ...]]] = {
    "none": "-.",
    "spcl": "-",
    "random": "--",
    "anti": ":",
    "spcl-utterance": (0, (5, 1)),
    "spcl-conversation": (0, (3, 1, 1, 1, 1, 1)),
    "baby-step": (0, (1, 1)),
}
ARM_ORDER: tuple[str, ...] = tuple(ARM_COLORS)

METRIC_LABELS: dict[str, str] = {
    "acc": "accuracy",
    "wf1": "weighted F1",
    "loss": "cross-entropy",
    "gold_prob": "mean gold-class probability",
    "disparity_ratio": "disparity ratio $\\rho_m$",
    "grad_norm": "gradient L2 norm",
    "grad_norm_share": "gradient-norm share",
    "kept_fraction": "fraction of batch kept",
    "lambda": "threshold $\\lambda$",
}


def scope_label(scope: str) -> str:
    """``"a"`` -> ``"audio"``; other scopes unchanged."""
    return MODALITY_NAMES.get(scope, scope)


def metric_label(metric: str) -> str:
    """Axis label of a metric name from the epochs or results table."""
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def hue_color(hue: str, level: str) -> str | None:
    """Colour of one level of a ``scope`` or ``curriculum`` hue (``None``: the default cycle)."""
    palette = MODALITY_COLORS if hue == "scope" else ARM_COLORS if hue == "curriculum" else {}
    return palette.get(level)


def order_levels(hue: str, levels: list[str]) -> list[str]:
    """Modalities in t, a, v order and arms in :data:`ARM_ORDER`; anything else as given."""
    reference = list(MODALITY_COLORS) if hue == "scope" else list(ARM_ORDER) if hue == "curriculum" else []
    known = [r for r in reference if r in levels]
    return known + [level for level in levels if level not in known]
