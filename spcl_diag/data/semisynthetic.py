r"""The semi-synthetic benchmarks ``iemocap-text`` and ``meld-text``.

What is real: the dialogue structure, speakers, labels and train/dev/test splits of IEMOCAP
and MELD (COSMIC release; the dev set is COSMIC's ``validIds``) and the text features,
sentence embeddings of the real transcripts (all-MiniLM-L6-v2, 384-d), read from
``<data_dir>/{iemocap,meld}/*_text_minilm.npz``.

What is simulated: the audio and visual features. For modality ``m`` and utterance ``j``
with gold class :math:`y_j`,

.. math:: x_j^m = s_m \, a_j \, \mu^m_{\tilde y_j^m} + \beta \, \sigma^m_{k(j)} + \varepsilon_j,
          \quad \varepsilon_j \sim \mathcal N(0, I_{d_m}),

* :math:`\mu^m_c` are class prototypes; the two members of a confusable pair
  (:attr:`SemiSyntheticSpec.pairs`) share the share ``pair_similarity`` of theirs;
* :math:`a_j \sim \mathrm{Beta}(2, 1.2)` is an utterance clarity shared by audio and visual,
  so some utterances are ambiguous in both and difficulty varies across utterances;
* :math:`\tilde y_j^m` is the class the modality "expresses": the gold class, or with
  probability ``confusion`` (drawn per modality) its confusable partner;
* :math:`\sigma^m_{k(j)}` is an offset of the speaker within the dialogue (scale
  :math:`\beta` = ``speaker_offset``), a nuisance a model must see past.

The signal scales :math:`s_m` are calibrated (``analyses/calibrate_semisynthetic.py``) so
that a context-free logistic regression trained on train+dev reaches roughly the published
unimodal test weighted-F1: IEMOCAP audio 0.50 and visual 0.35, MELD audio 0.40 and visual
0.32. Everything simulated is a pure function of the data seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.data.loaders.bundle import read_bundle
from spcl_diag.errors import DataFormatError


@dataclass(frozen=True)
class SemiSyntheticSpec:
    """How one semi-synthetic benchmark simulates its audio and visual features."""

    bundle: str  # the real-structure bundle, relative to the data folder
    strength: dict[str, float]  # calibrated signal scale s_m of each simulated modality
    targets: dict[str, float]  # unimodal test weighted-F1 the scales were calibrated to
    pairs: tuple[tuple[str, str], ...]  # confusable class pairs (by name)
    dims: dict[str, int] = field(default_factory=lambda: {"a": 100, "v": 100})  # feature widths
    confusion: float = 0.2  # probability that a modality expresses the partner class of a pair
    pair_similarity: float = 0.6  # share of prototype common to a confusable pair, in [0, 1)
    speaker_offset: float = 0.5  # scale of the per-(dialogue, speaker) offset


SEMISYNTHETIC: dict[str, SemiSyntheticSpec] = {
    "iemocap-text": SemiSyntheticSpec(
        bundle="iemocap/iemocap_text_minilm.npz",
        strength={"a": 0.3105, "v": 0.1641},
        targets={"a": 0.50, "v": 0.35},
        pairs=(("hap", "exc"), ("ang", "fru")),
    ),
    "meld-text": SemiSyntheticSpec(
        bundle="meld/meld_text_minilm.npz",
        strength={"a": 0.1113, "v": 0.0469},
        targets={"a": 0.40, "v": 0.32},
        pairs=(("anger", "disgust"), ("fear", "sadness"), ("surprise", "joy")),
    ),
}


def make_semisynthetic(
    name: str,
    data_dir: str | Path,
    *,
    seed: int = 0,
    strength: dict[str, float] | None = None,
) -> ConversationDataset:
    """Build the semi-synthetic benchmark ``name`` from the shared data folder.

    Parameters
    ----------
    name
        ``"iemocap-text"`` or ``"meld-text"`` (a key of :data:`SEMISYNTHETIC`).
    data_dir
        The shared data folder (holding ``iemocap/`` and ``meld/``).
    seed
        Data seed: the simulated features are a pure function of it.
    strength
        Override the calibrated signal scales (used by the calibration script).

    Returns
    -------
    ConversationDataset
        Modalities ``tav``: real text (float32), simulated audio and visual;
        ``source_format`` is ``"semi-synthetic"``.
    """
    if name not in SEMISYNTHETIC:
        raise ValueError(f"unknown semi-synthetic benchmark {name!r}; valid are {', '.join(SEMISYNTHETIC)}.")
    spec = SEMISYNTHETIC[name]
    path = Path(data_dir) / spec.bundle
    if not path.is_file():
        raise DataFormatError(
            f"{name}: needs {spec.bundle} in the data folder {data_dir}, which is not there "
            "(see docs/datasets.md: --data-dir, $SPCL_DIAG_DATA or ../shared/data)."
        )
    real = read_bundle(path)
    scales = {**spec.strength, **(strength or {})}
    partner = np.arange(real.n_classes)
    for a, b in spec.pairs:
        i, j = real.label_names.index(a), real.label_names.index(b)
        partner[i], partner[j] = j, i
    rng = np.random.default_rng(np.random.SeedSequence([seed, _name_key(name)]))
    labels = real.labels
    # speaker slot of each utterance, unique per (dialogue, speaker)
    dialogue = np.repeat(np.arange(real.n_dialogues), real.lengths)
    slot = np.unique(dialogue * (real.n_speakers + 1) + real.speakers, return_inverse=True)[1]
    clarity = rng.beta(2.0, 1.2, size=len(labels))
    features = {"t": real.features["t"]}
    for m in ("a", "v"):
        d = spec.dims[m]
        prototypes = _prototypes(real.n_classes, d, partner, spec.pair_similarity, rng)
        expressed = np.where(rng.random(len(labels)) < spec.confusion, partner[labels], labels)
        offsets = rng.standard_normal((int(slot.max()) + 1, d))
        noise = rng.standard_normal((len(labels), d))
        x = scales[m] * clarity[:, None] * prototypes[expressed] + spec.speaker_offset * offsets[slot] + noise
        features[m] = x.astype(np.float32)
    return ConversationDataset(
        features=features,
        offsets=real.offsets,
        dialogue_ids=real.dialogue_ids,
        splits=real.splits,
        speakers=real.speakers,
        labels=labels,
        label_names=real.label_names,
        name=name,
        source_format="semi-synthetic",
        n_speakers=real.n_speakers,
        dev_origin="file",
    )


def _prototypes(
    n_classes: int, d: int, partner: np.ndarray, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Class prototypes ``[C, d]``; the members of a pair share ``share`` of their variance."""
    own = rng.standard_normal((n_classes, d))
    common = rng.standard_normal((n_classes, d))
    pair_id = np.minimum(np.arange(n_classes), partner)  # the same row for both members
    paired = partner != np.arange(n_classes)
    mixed = np.sqrt(share) * common[pair_id] + np.sqrt(1 - share) * own
    return np.where(paired[:, None], mixed, own)


def _name_key(name: str) -> int:
    """A stable integer per benchmark name, so the two benchmarks draw different streams."""
    return int.from_bytes(name.encode(), "little") % (2**32)
