from itertools import pairwise

from serve_app.audio.chunking import IncrementalPlanner, plan_chunks

SR = 16000
MAX = 30 * SR


def s(sec: float) -> int:
    return int(sec * SR)


def covered(chunks, start, end):
    return any(c.start <= start and end <= c.end for c in chunks)


def test_no_speech_gives_no_chunks():
    assert plan_chunks([], s(60), MAX) == []


def test_short_spans_pack_into_one_chunk_cut_in_silence():
    speech = [(s(1), s(5)), (s(6), s(12)), (s(14), s(20))]
    chunks = plan_chunks(speech, s(25), MAX)
    assert len(chunks) == 1
    assert chunks[0].start <= s(1) and chunks[0].end >= s(20)
    assert chunks[0].end - chunks[0].start <= MAX


def test_spans_split_across_chunks_never_cut_inside_speech():
    # 10 spans of 8 s with 2 s pauses: 100 s of audio.
    speech = [(s(10 * i), s(10 * i + 8)) for i in range(10)]
    chunks = plan_chunks(speech, s(100), MAX)
    assert len(chunks) >= 4
    for span in speech:
        assert covered(chunks, *span), f"span {span} cut by a boundary"
    for a, b in pairwise(chunks):
        assert a.end <= b.start, "chunks overlap"
    for c in chunks:
        assert c.end - c.start <= MAX
        # boundaries lie in silence: no span straddles them
        for start, end in speech:
            assert not (start < c.start < end) and not (start < c.end < end)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_boundaries_fall_in_the_middle_of_gaps_when_room_allows():
    speech = [(s(0.5), s(20)), (s(24), s(40))]
    chunks = plan_chunks(speech, s(41), MAX)
    assert len(chunks) == 2
    assert s(20) < chunks[0].end <= s(22)
    assert s(22) <= chunks[1].start < s(24)


def test_overlong_span_is_split_evenly_within_limit():
    chunks = plan_chunks([(0, s(75))], s(75), MAX)
    assert len(chunks) == 3
    assert chunks[0].start == 0 and chunks[-1].end == s(75)
    assert all(c.end - c.start <= MAX for c in chunks)
    assert all(a.end == b.start for a, b in pairwise(chunks))


def test_spans_are_clamped_to_the_audio():
    chunks = plan_chunks([(-100, s(3)), (s(4), s(12))], s(10), MAX)
    assert chunks[0].start == 0 and chunks[-1].end == s(10)


def test_incremental_planning_matches_planning_the_whole_file():
    speech = [(s(10 * i + 1), s(10 * i + 8)) for i in range(30)]  # 300 s
    # One span crosses the 60 s block boundary and must come back as one span.
    speech[5] = (s(51), s(69))
    speech[6] = (s(71), s(78))
    whole = plan_chunks(speech, s(300), MAX)

    planner = IncrementalPlanner(s(300), MAX, join_samples=s(0.5))
    got = []
    first_ready_after_block = None
    for block in range(5):
        lo, hi = s(60 * block), s(60 * (block + 1))
        block_spans = [(max(a, lo), min(b, hi)) for a, b in speech if a < hi and b > lo]
        ready = planner.add_block(block_spans, lo)
        if ready and first_ready_after_block is None:
            first_ready_after_block = block
        got += ready
    got += planner.finish()
    assert got == whole
    assert first_ready_after_block == 0, "chunks should be released before VAD finishes"


def test_a_shorter_first_chunk_splits_chunk_zero_and_moves_no_other_cut():
    speech = [(s(3 * i + 0.5), s(3 * i + 2.0)) for i in range(27)]  # 81 s of short phrases
    normal = plan_chunks(speech, s(81), MAX)
    chunks = plan_chunks(speech, s(81), MAX, first_chunk_samples=s(10))
    head, rest, *later = chunks
    assert head.end - head.start <= s(11)  # its speech within 10 s, plus half the pauses
    assert head.start == normal[0].start and rest.end == normal[0].end
    assert [(c.start, c.end) for c in later] == [(c.start, c.end) for c in normal[1:]]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # Resuming after chunk 0 plans normal chunks.
    resumed = plan_chunks(speech, s(81), MAX, start=s(10), first_index=1, first_chunk_samples=s(10))
    assert resumed[0].end - resumed[0].start > s(20)
    # Planned block by block, the split comes out the same.
    planner = IncrementalPlanner(s(81), MAX, join_samples=s(0.5), first_chunk_samples=s(10))
    got = []
    for block in range(2):
        lo, hi = s(60 * block), s(60 * (block + 1))
        spans = [(max(a, lo), min(b, hi)) for a, b in speech if a < hi and b > lo]
        got += planner.add_block(spans, lo)
    assert got + planner.finish() == chunks
