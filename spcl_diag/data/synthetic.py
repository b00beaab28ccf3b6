"""The ``synthetic`` benchmark: generated dialogues whose modality informativeness is known.

Generative model (all draws from one ``numpy.random.Generator`` seeded by ``seed``):

* dialogue ``k`` has ``L_k ~ U{min_length..max_length}`` utterances by ``n_speakers``
  speakers; the turn passes to another speaker with probability ``turn_change``;
* each speaker carries an emotion that follows a Markov chain: it stays with probability
  ``persistence`` and otherwise moves to a class drawn from the class prior
  (``class_prior``, skewed like MERC corpora);
* classes come in confusable pairs (``0/1``, ``2/3``, ...; like hap/exc and ang/fru): the
  two members of a pair share most of their prototype, so they are harder to tell apart;
* the feature of utterance ``j`` in modality ``m`` is

  .. math:: x_j^m = s_m \\, a_j \\, \\mu^m_{y_j} + \\beta \\, \\sigma^m_{\\text{spk}(j)}
            + \\gamma \\, \\bar\\mu^m_{\\text{ctx}(j)} + \\varepsilon_j, \\quad
            \\varepsilon_j \\sim \\mathcal N(0, I_{d_m}),

  with unit-norm-per-dimension class prototypes ``mu``, the per-modality informativeness
  ``s_m`` (``informativeness[m]``), an utterance clarity ``a_j ~ Beta(2, 1.2)`` shared
  across modalities (some utterances are ambiguous in every modality, so difficulty varies),
  a per-speaker offset ``sigma`` and a weak echo of the previous utterance's emotion
  ``mu_ctx`` (so the dialogue context carries information).

Raising ``informativeness["a"]`` makes audio more predictive; with the defaults text is
strong, audio medium and visual weak, the typical MERC imbalance. The ground truth is
known, so the benchmark doubles as a known-answer test of the imbalance metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spcl_diag.data.dataset import ConversationDataset
from spcl_diag.modalities import MODALITIES, parse_modalities


def _default_informativeness() -> dict[str, float]:
    return {"t": 1.0, "a": 0.55, "v": 0.3}


def _default_dims() -> dict[str, int]:
    return {"t": 32, "a": 24, "v": 16}


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the ``synthetic`` benchmark (all have defaults that suit a CPU demo)."""

    n_dialogues: int = 120  # total dialogues, split train/dev/test by `split_fractions`
    min_length: int = 6  # utterances per dialogue, lower bound
    max_length: int = 24  # utterances per dialogue, upper bound (inclusive)
    n_classes: int = 6  # emotion classes, in confusable pairs
    n_speakers: int = 2  # speakers per dialogue
    informativeness: dict[str, float] = field(default_factory=_default_informativeness)
    # signal scale s_m per modality: 0 = pure noise; about 1 is strong
    dims: dict[str, int] = field(default_factory=_default_dims)  # feature width per modality
    persistence: float = 0.75  # probability that a speaker's emotion stays the same
    turn_change: float = 0.7  # probability that the next utterance has another speaker
    pair_similarity: float = 0.6  # share of prototype common to a confusable pair, in [0, 1)
    speaker_offset: float = 0.5  # scale beta of the per-speaker feature offset
    context_echo: float = 0.25  # scale gamma of the previous utterance's emotion in the features
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)  # train / dev / test
    seed: int = 0  # data seed: fixed by default so every run of a study sees the same data

    def __post_init__(self) -> None:
        problems = []
        unknown = sorted((set(self.informativeness) | set(self.dims)) - set(MODALITIES))
        if unknown:
            problems.append(f"unknown modality letter(s) {unknown}; valid are t, a, v")
        if set(self.informativeness) != set(self.dims):
            problems.append(
                f"informativeness and dims must name the same modalities; got "
                f"{sorted(self.informativeness)} and {sorted(self.dims)}"
            )
        if any(v < 0 for v in self.informativeness.values()):
            problems.append(f"informativeness must be >= 0; got {self.informativeness}")
        if any(int(d) < 1 for d in self.dims.values()):
            problems.append(f"dims must be >= 1; got {self.dims}")
        if not 1 <= self.min_length <= self.max_length:
            problems.append(
                f"need 1 <= min_length <= max_length; got {self.min_length}, {self.max_length}"
            )
        if self.n_classes < 2 or self.n_speakers < 1 or self.n_dialogues < 3:
            problems.append("need n_classes >= 2, n_speakers >= 1 and n_dialogues >= 3")
        if not 0 <= self.pair_similarity < 1:
            problems.append(f"pair_similarity must lie in [0, 1); got {self.pair_similarity}")
        if len(self.split_fractions) != 3 or abs(sum(self.split_fractions) - 1) > 1e-9:
            problems.append(f"split_fractions must be 3 numbers summing to 1; got {self.split_fractions}")
        if problems:
            raise ValueError("SyntheticConfig: " + "; ".join(problems) + ".")
        # canonical numeric types, so {"a": 1} and {"a": 1.0} give the same run id
        object.__setattr__(self, "informativeness", {m: float(v) for m, v in self.informativeness.items()})
        object.__setattr__(self, "dims", {m: int(d) for m, d in self.dims.items()})
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in self.split_fractions))


def class_prior(n_classes: int) -> np.ndarray:
    """A skewed class prior like MERC corpora: ``p_c`` proportional to ``1 / (1 + 0.3 c)``."""
    weights = 1.0 / (1.0 + 0.3 * np.arange(n_classes))
    return weights / weights.sum()


def make_synthetic(config: SyntheticConfig | None = None, *, modalities: str = "tav") -> ConversationDataset:
    """Generate the ``synthetic`` benchmark.

    Parameters
    ----------
    config
        Generator parameters; ``SyntheticConfig()`` when omitted.
    modalities
        Modalities to return (a subset of those in ``config.dims``).

    Returns
    -------
    ConversationDataset
        Fully determined by ``config`` (including ``config.seed``).

    Examples
    --------
    >>> data = make_synthetic(SyntheticConfig(n_dialogues=10, seed=1))
    >>> data.modalities, data.dims, data.n_dialogues
    ('tav', {'t': 32, 'a': 24, 'v': 16}, 10)
    >>> bool((make_synthetic(SyntheticConfig(n_dialogues=10, seed=1)).features["a"] == data.features["a"]).all())
    True
    """
    config = config or SyntheticConfig()
    rng = np.random.default_rng(config.seed)
    C, S = config.n_classes, config.n_speakers
    present = "".join(m for m in MODALITIES if m in config.dims)
    prior = class_prior(C)

    lengths = rng.integers(config.min_length, config.max_length + 1, size=config.n_dialogues)
    n_utt = int(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    # Speakers and emotions: a short loop per utterance, once per dataset (not a hot path).
    speakers = np.empty(n_utt, dtype=np.int64)
    labels = np.empty(n_utt, dtype=np.int64)
    previous = np.empty(n_utt, dtype=np.int64)  # emotion of the previous utterance (own at start)
    for k in range(config.n_dialogues):
        emotion = rng.choice(C, size=S, p=prior)
        speaker = int(rng.integers(S))
        last = -1
        for j in range(offsets[k], offsets[k + 1]):
            if j > offsets[k] and S > 1 and rng.random() < config.turn_change:
                speaker = int((speaker + rng.integers(1, S)) % S)
            if rng.random() > config.persistence:
                emotion[speaker] = rng.choice(C, p=prior)
            speakers[j], labels[j] = speaker, emotion[speaker]
            previous[j] = labels[j] if last < 0 else last
            last = labels[j]

    clarity = rng.beta(2.0, 1.2, size=n_utt)
    features: dict[str, np.ndarray] = {}
    for m in present:
        d = int(config.dims[m])
        pair_base = rng.standard_normal((C // 2 + 1, d))
        own = rng.standard_normal((C, d))
        share = config.pair_similarity
        prototypes = np.sqrt(share) * pair_base[np.arange(C) // 2] + np.sqrt(1 - share) * own
        speaker_offsets = rng.standard_normal((S, d))
        noise = rng.standard_normal((n_utt, d))
        x = (
            config.informativeness[m] * clarity[:, None] * prototypes[labels]
            + config.speaker_offset * speaker_offsets[speakers]
            + config.context_echo * prototypes[previous]
            + noise
        )
        features[m] = x.astype(np.float32)

    n_train = round(config.split_fractions[0] * config.n_dialogues)
    n_dev = max(1, round(config.split_fractions[1] * config.n_dialogues))
    splits = np.array(["train"] * n_train + ["dev"] * n_dev + ["test"] * (config.n_dialogues - n_train - n_dev))
    dataset = ConversationDataset(
        features=features,
        offsets=offsets,
        dialogue_ids=np.array([f"syn{k:04d}" for k in range(config.n_dialogues)]),
        splits=splits,
        speakers=speakers,
        labels=labels,
        label_names=tuple(f"class{c}" for c in range(C)),
        name="synthetic",
        source_format="synthetic",
        n_speakers=S,
    )
    return dataset.select_modalities(parse_modalities(modalities)) if modalities != present else dataset
