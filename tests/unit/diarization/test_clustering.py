"""The speaker count of :mod:`serve_app.diarization.clustering` on real CAM++ embeddings.

``data/real_window_embeddings.npz`` holds the diarizer's window embeddings (float16,
(windows, local speakers, 192), NaN: inactive) of 30 s real clips of the tune split only
(see ``eval/count_sets.py``): made-up conversations of real asterisk voices
(``eval.real_data.conversations``), and single voices (an asterisk voice's tune prompts,
the pocketsphinx-testdata LibriVox reader). They were written by the streaming diarizer
(``OnlineClusters.refit``'s input) with the bundled segmentation-3.0 and CAM++ weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from serve_app.diarization.clustering import OnlineClusters, spectral_clusters

DATA = Path(__file__).parent / "data" / "real_window_embeddings.npz"


def windows(name: str) -> np.ndarray:
    with np.load(DATA) as data:
        return data[name].astype(np.float64)


def count(labels: np.ndarray) -> int:
    return len(set(labels[labels >= 0].tolist()))


def separated(block: np.ndarray) -> int:
    return int(((~np.isnan(block).any(axis=2)).sum(axis=1) >= 2).sum())


@pytest.mark.parametrize("name", ["conversation_tune_0", "conversation_tune_3"])
def test_a_second_voice_the_segmentation_heard_is_not_merged_away(name: str) -> None:
    """Two real voices in 30 s, each with >= 2 s of speech: the eigengap alone says one
    speaker on these (the first gap of the graph wins); segmentation put two voices in
    one window at least twice, so two clusters are tried and they stay apart."""
    block = windows(name)
    assert separated(block) >= 2
    flat = block[~np.isnan(block).any(axis=2)]
    assert count(spectral_clusters(flat)) == 1  # the eigengap's count, no window evidence
    assert count(OnlineClusters().add(block, final=True)) == 2


@pytest.mark.parametrize(
    "name", ["asterisk_en_tune", "asterisk_fr_tune", "asterisk_it_tune", "librivox_reader"]
)
def test_a_real_single_voice_stays_one_speaker(name: str) -> None:
    """One real voice (telephone prompts; a read audiobook): fewer than two windows with two
    local speakers (asterisk), or two halves the centroid test merges back (LibriVox)."""
    assert count(OnlineClusters().add(windows(name), final=True)) == 1


def test_one_voice_the_eigengap_splits_is_kept_whole() -> None:
    """The Italian asterisk voice's tune prompts: the eigengap alone finds two clusters
    further apart than the centroid test merges, but no window ever held two voices."""
    block = windows("asterisk_it_tune")
    assert separated(block) == 0
    assert count(spectral_clusters(block[~np.isnan(block).any(axis=2)])) == 2
    assert count(OnlineClusters().add(block, final=True)) == 1


def test_one_slot_blocks_keep_the_eigengap_count() -> None:
    """Realtime feeds one embedding per utterance (blocks of one slot): no window evidence,
    so the eigengap's count stands, the same as clustering the flat embeddings."""
    block = windows("conversation_tune_3")
    flat = block[~np.isnan(block).any(axis=2)]
    labels = OnlineClusters().add(flat[:, None, :], final=True)[:, 0]
    assert count(labels) == count(spectral_clusters(flat)) == 1


def test_a_speaker_hint_still_wins() -> None:
    block = windows("asterisk_en_tune")
    assert count(OnlineClusters(num_clusters=2).add(block, final=True)) == 2
