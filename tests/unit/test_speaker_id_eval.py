"""The known-speaker calibration's pieces (eval/speaker_id.py, bench/speaker_id.py): the
error rates, the threshold choice, the enrolment/test separation and the match-cost table."""

from __future__ import annotations

import numpy as np

from bench import speaker_id as bench_sid
from eval import real_data
from eval import speaker_id as sid

NAMES = ["alice", "bob", "carol"]


def trial(speaker: str, scores: list[float]) -> sid.Trial:
    return sid.Trial(speaker, "clean", "utterance", np.array(scores))


def test_rates_count_targets_impostors_and_unknown_voices() -> None:
    trials = [
        trial("alice", [0.8, 0.1, 0.2]),  # named correctly
        trial("bob", [0.6, 0.5, 0.0]),  # wrong name (alice above bob), bob accepted too
        trial("carol", [0.1, 0.2, 0.3]),  # own score below: rejected, stays unknown
        trial("stranger", [0.45, 0.1, 0.0]),  # never enrolled
    ]
    r = sid.rates(trials, NAMES, 0.4)
    assert r.samples == 3 and r.target_pairs == 3
    assert r.impostor_pairs == 2 + 2 + 2 + 3
    assert r.far == 2 / 9  # bob->alice 0.6 and stranger->alice 0.45
    assert r.frr == 1 / 3  # carol
    assert r.accuracy == 1 / 3 and r.wrong_name == 1 / 3
    # open set, own voiceprint left out: bob (0.6 to alice) and the stranger get a name
    assert r.unknown_samples == 4 and r.unknown_accepted == 2 / 4


def test_threshold_is_the_lowest_meeting_the_false_accept_target() -> None:
    trials = [trial("alice", [0.9, 0.3, 0.2]), trial("bob", [0.35, 0.7, 0.1])]
    trials += [trial("x", [0.5, 0.2, 0.1])]
    th = sid.choose_threshold(trials, NAMES, max_far=0.0)
    assert th == 0.505  # just above the stranger's 0.5
    assert sid.rates(trials, NAMES, th).accuracy == 1.0
    assert sid.choose_threshold(trials, NAMES, max_far=1.0) == 0.0


def test_pooled_is_the_duration_weighted_mean_direction() -> None:
    a = sid.Pieces(np.array([[1.0, 0.0]], np.float32), np.array([3.0], np.float32))
    b = sid.Pieces(np.array([[0.0, 1.0], [0.0, 1.0]], np.float32), np.array([1.0, 2.0]))
    vp = sid.pooled([a, b, sid.Pieces(np.zeros((0, 2)), np.zeros(0))])
    assert np.isclose(np.linalg.norm(vp), 1.0) and np.allclose(vp, [2**-0.5, 2**-0.5])
    assert len(sid.pooled([])) == 0


def _utt(speaker: str, part: str, seconds: float) -> sid.Utterance:
    return sid.Utterance(f"{speaker}/{part}", speaker, part, np.zeros(int(seconds * sid.SR)))


def test_pools_keep_one_speaker_and_part() -> None:
    us = [_utt("a", "tune", 6) for _ in range(5)] + [_utt("b", "tune", 4), _utt("b", "report", 4)]
    groups = sid.pools(us, seconds=15)
    assert [len(g) for g in groups] == [3, 2, 1, 1]
    assert all(len({(u.speaker, u.part) for u in g}) == 1 for g in groups)


def test_recording_enrolment_comes_first_and_tests_alternate() -> None:
    audio = np.zeros(int(60 * sid.SR), np.float32)
    turns = [(0.0, 20.0, "A"), (19.0, 30.0, "B"), (30.0, 60.0, "A")]
    f = real_data.RealFile("x", audio, turns=turns)
    us = sid.recording_utterances(f, "x")
    a = [u for u in us if u.speaker == "x-A"]
    # A's speech outside B's turn: 0-19 s and 30-60 s, in pieces of TURN_PIECE_S
    assert abs(sum(u.seconds for u in a) - 49.0) < 0.1
    parts = [u.part for u in a]
    first_test = parts.index("tune")
    assert set(parts[:first_test]) == {"enrol"} and "enrol" not in parts[first_test:]
    assert parts[first_test:][:4] == ["tune", "report", "tune", "report"]
    enrol_s = sum(u.seconds for u in a if u.part == "enrol")
    assert sid.ENROL_SHARE * 49 <= enrol_s < sid.ENROL_SHARE * 49 + sid.TURN_PIECE_S


def test_scale_table_matches_the_loop() -> None:
    rng = np.random.default_rng(1)
    prints = rng.standard_normal((50, 8)).astype(np.float32)
    job = rng.standard_normal((3, 8)).astype(np.float32)
    best = np.argmax(job @ prints.T, axis=1)
    assert list(best) == bench_sid._match_loop(job, prints)
    t = bench_sid.scale((10, 100), speakers=2, repeats=2)
    assert [row[0] for row in t["rows"]] == [10, 100]
