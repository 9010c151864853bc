"""The open-set, one-to-one match of diarized speakers against enrolled voiceprints."""

import numpy as np
import pytest

from serve_app.speakers.matching import VoiceprintIndex, assign, match_speakers
from serve_app.speakers.models import Speaker, Voiceprint, VoiceprintSource

RNG = np.random.default_rng(7)
DIM = 192


def unit(v):
    return v / np.linalg.norm(v)


def voice():
    return unit(RNG.normal(size=DIM))


def near(v, similarity):
    """A unit vector with cosine ``similarity`` to ``v``."""
    other = unit(RNG.normal(size=DIM))
    other = unit(other - (other @ v) * v)
    return similarity * v + np.sqrt(1 - similarity**2) * other


def enrol(*people):
    speakers, prints = [], []
    for name, vectors in people:
        s = Speaker(owner="o", name=name)
        speakers.append(s)
        for vec in vectors:
            prints.append(
                Voiceprint(
                    speaker_id=s.speaker_id,
                    embedding=list(map(float, vec)),
                    source=VoiceprintSource(kind="clip"),
                )
            )
    return speakers, prints


def test_a_voice_below_the_threshold_stays_unknown():
    alice = voice()
    speakers, prints = enrol(("Alice", [alice]))
    index = VoiceprintIndex(speakers, prints)
    stranger = near(alice, 0.4)
    assert match_speakers({"SPEAKER_1": stranger}, index, threshold=0.7) == {}
    same = near(alice, 0.9)
    found = match_speakers({"SPEAKER_1": same}, index, threshold=0.7)
    assert found["SPEAKER_1"].name == "Alice"
    assert found["SPEAKER_1"].score == pytest.approx(0.9, abs=1e-3)


def test_two_diarized_speakers_never_get_one_person():
    alice, bob = voice(), voice()
    speakers, prints = enrol(("Alice", [alice]), ("Bob", [bob]))
    index = VoiceprintIndex(speakers, prints)
    # Both sound most like Alice; the closer one gets her, the other gets Bob only if
    # Bob is above the threshold for it, else nobody.
    centroids = {"SPEAKER_1": near(alice, 0.85), "SPEAKER_2": near(alice, 0.95)}
    found = match_speakers(centroids, index, threshold=0.7)
    assert set(found) == {"SPEAKER_2"} and found["SPEAKER_2"].name == "Alice"
    centroids["SPEAKER_1"] = unit(0.8 * alice + 0.9 * bob)
    found = match_speakers(centroids, index, threshold=0.5)
    assert {k: m.name for k, m in found.items()} == {"SPEAKER_1": "Bob", "SPEAKER_2": "Alice"}


def test_assignment_maximises_the_total_score_over_eligible_pairs():
    scores = np.array([[0.9, 0.85], [0.88, 0.2]])
    # Greedy would give row 0 column 0 and leave row 1 unmatched; the best total is 0.85+0.88.
    assert assign(scores, 0.7) == [1, 0]
    assert assign(scores, 0.95) == [None, None]
    assert assign(np.zeros((2, 0)), 0.5) == [None, None]


def test_a_person_scores_by_their_best_voiceprint_and_ids_restrict_the_match():
    alice_phone, alice_studio, bob = voice(), voice(), voice()
    speakers, prints = enrol(("Bob", [bob]), ("Alice", [alice_phone, alice_studio]))
    # Voiceprints arrive in any order; the index groups them by person.
    index = VoiceprintIndex(speakers, list(reversed(prints)))
    found = match_speakers({"SPEAKER_1": near(alice_studio, 0.8)}, index, threshold=0.7)
    assert found["SPEAKER_1"].name == "Alice"
    only_bob = {speakers[0].speaker_id}
    assert match_speakers({"SPEAKER_1": near(alice_studio, 0.8)}, index, 0.7, only_bob) == {}
    scores = index.scores(np.stack([alice_phone, bob]))
    assert scores.shape == (2, 2)
    assert scores[0, 1] == pytest.approx(1.0, abs=1e-5) and scores[1, 0] == pytest.approx(
        1.0, abs=1e-5
    )


def test_no_enrolled_people_or_no_centroids_match_nothing():
    assert match_speakers({"SPEAKER_1": voice()}, VoiceprintIndex([], []), 0.5) == {}
    speakers, prints = enrol(("Alice", [voice()]))
    assert match_speakers({}, VoiceprintIndex(speakers, prints), 0.5) == {}
    # A person without a voiceprint is not in the index.
    lonely = Speaker(owner="o", name="Nobody")
    assert len(VoiceprintIndex([lonely, *speakers], prints)) == 1
