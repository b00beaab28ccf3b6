"""Choosing the dev set of a file that has none.

The standard MERC feature files have only train and test (their ``trainVid`` holds train
and dev together). The dev set is then taken from the training dialogues:

* fixed (default): the first ``fraction`` of the training dialogues in file order,
  ``max(1, int(fraction * n_train))`` of them, as the reference code does
  (``get_train_valid_sampler``: the first 10% of the training indices). It is the same
  for every seed and arm, so a paired comparison sees the same data;
* seeded: as many dialogues drawn without replacement by a ``numpy.random.Generator``.

A file that has an official dev set (the shared ``.npz`` bundles, COSMIC ``validIds``)
keeps it; then neither rule applies.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spcl_diag.data.dataset import ConversationDataset


def dev_count(n_train: int, fraction: float) -> int:
    """Dev dialogues taken from ``n_train`` training dialogues.

    Examples
    --------
    >>> dev_count(120, 0.1), dev_count(1153, 0.1), dev_count(5, 0.1)
    (12, 115, 1)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"dev fraction must lie in (0, 1); got {fraction}.")
    return max(1, int(fraction * n_train))


def choose_dev(dataset: ConversationDataset, *, fraction: float = 0.1,
               rng: np.random.Generator | None = None) -> ConversationDataset:
    """``dataset`` with a dev split taken from its training dialogues, if it has none.

    Parameters
    ----------
    dataset
        A dataset whose dev split may be empty.
    fraction
        Share of the training dialogues moved to dev, in (0, 1).
    rng
        Draw the dev dialogues with this generator (the ``seeded`` rule); without it the
        first dialogues are taken (the ``fixed`` rule).

    Returns
    -------
    ConversationDataset
        With ``dev_origin`` ``"file"`` (unchanged: it had a dev split), ``"fixed"`` or
        ``"seeded"``.

    Examples
    --------
    >>> from spcl_diag.data.synthetic import SyntheticConfig, make_synthetic
    >>> data = make_synthetic(SyntheticConfig(n_dialogues=20, split_fractions=(0.8, 0.0, 0.2)))
    >>> data = data.with_splits(np.where(data.splits == "dev", "train", data.splits))
    >>> fixed = choose_dev(data, fraction=0.1)
    >>> fixed.dev_origin, fixed.dialogue_ids[fixed.splits == "dev"].tolist()
    ('fixed', ['syn0000'])
    >>> choose_dev(data, fraction=0.1, rng=np.random.default_rng(0)).dev_origin
    'seeded'
    """
    if (dataset.splits == "dev").any():
        return dataset
    train = dataset.dialogue_indices("train")
    n_dev = dev_count(len(train), fraction)
    if n_dev >= len(train):
        raise ValueError(
            f"{dataset.name}: cannot take {n_dev} dev dialogue(s) from {len(train)} training dialogue(s)."
        )
    if rng is None:
        chosen, origin = train[:n_dev], "fixed"
    else:
        chosen, origin = rng.choice(train, size=n_dev, replace=False), "seeded"
    splits = dataset.splits.astype("<U5")
    splits[chosen] = "dev"
    return replace(dataset.with_splits(splits), dev_origin=origin)

