"""SPCL presets: the lookup does not depend on how a modality set is spelt."""

from __future__ import annotations

import itertools

import pytest

from spcl_diag.curriculum.pacing import _PRESETS, DEFAULT_GROWTH, DEFAULT_LAMBDA0, spcl_preset


@pytest.mark.parametrize(("backbone", "family"), sorted(_PRESETS))
def test_every_spelling_of_a_modality_set_gets_the_table_value(backbone, family):
    for canonical, expected in _PRESETS[(backbone, family)].items():
        for spelling in map("".join, itertools.permutations(canonical)):
            assert spcl_preset(backbone, family, spelling) == expected, spelling


def test_at_is_ta_not_the_fallback():
    assert spcl_preset("mm_dfn", "iemocap", "at") == (0.35, 1.1) != (DEFAULT_LAMBDA0, DEFAULT_GROWTH)


def test_bad_modality_set_is_an_error():
    with pytest.raises(ValueError, match="unknown modality"):
        spcl_preset("mm_dfn", "iemocap", "tx")
