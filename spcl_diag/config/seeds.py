"""Per-run random streams derived from the run seed with ``numpy.random.SeedSequence``.

Each stream depends on the seed alone, never on the curriculum arm, so every arm of one
seed gets the same initial weights, the same batch order and the same dropout masks for as
long as the arms compute the same operations (the paired design).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAMS: tuple[str, ...] = ("init", "order", "dropout", "selection", "dev_split", "perceptual", "balancing")
# Append new streams at the end only: SeedSequence children are keyed by position, so the
# seeds of the existing streams stay unchanged.


@dataclass(frozen=True)
class RunSeeds:
    """Integer seeds of the independent random streams of one run."""

    init: int  # model initialisation (torch)
    order: int  # batch order (numpy Generator)
    dropout: int  # dropout and other in-training torch draws
    selection: int  # the random arm's choice of utterances (torch Generator)
    dev_split: int  # a seed-dependent dev split, when asked for
    perceptual: int  # permutations of the post-training perceptual score (numpy Generator)
    balancing: int  # gradient noise of the balancing methods (torch Generator)

    @classmethod
    def from_seed(cls, seed: int) -> RunSeeds:
        """Spawn one child ``SeedSequence`` per stream from ``seed``.

        Examples
        --------
        >>> RunSeeds.from_seed(0) == RunSeeds.from_seed(0), RunSeeds.from_seed(0) == RunSeeds.from_seed(1)
        (True, False)
        """
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        values = [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]
        return cls(**dict(zip(STREAMS, values)))
