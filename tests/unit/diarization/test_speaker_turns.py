"""The result keeps the diarization's overlap-aware turns (``speaker_turns``) under the
transcript's names, beside the exclusive view the words are aligned with; RTTM export of
them, read back with pyannote.database's RTTM loader."""

import asyncio

from serve_app.diarization.alignment import speaker_names
from serve_app.jobs.model import ChunkRecord, Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from serve_app.transcript.exports import to_rttm, turns_of
from serve_app.transcript.segments import Segment, Word


def turn(start, end, speaker):
    return {"start": start, "end": end, "speaker": speaker, "confidence": 0.9}


def test_labels_found_only_in_overlap_get_names_after_the_others():
    shown = [turn(0, 2, "SPEAKER_1"), turn(2, 4, "SPEAKER_2")]
    names = speaker_names([turn(0, 2, "b"), turn(2, 4, "a")], shown, extra_labels=["a", "c"])
    assert names == {"b": "SPEAKER_1", "a": "SPEAKER_2", "c": "SPEAKER_3"}


def test_finished_job_keeps_overlapping_turns_under_the_transcript_names():
    async def scenario():
        store = JobStore()
        job = Job(job_id="j1", options=JobOptions(model_name="tiny.en"))
        await store.create_job(job)
        await store.add_chunks("j1", [ChunkRecord(index=0, start=0, end=6)], planning_done=True)
        words = [Word(start=i, end=i + 0.8, word=f" w{i}", probability=1) for i in range(6)]
        await store.complete_chunk("j1", 0, [Segment(start=0, end=6, text="x", words=words)])
        await store.update_speakers("j1", [turn(0, 3, "7")], overlap_turns=[turn(0, 3, "7")])
        exclusive = [turn(0, 3, "4"), turn(3, 6, "9")]
        overlap = [turn(0, 3.5, "4"), turn(2.5, 6, "9"), turn(5, 5.5, "11")]
        await store.update_speakers("j1", exclusive, final=True, overlap_turns=overlap)
        await store.update_job("j1", status=JobStatus.COMPLETED)
        return await store.get_job("j1"), await store.get_segments("j1")

    job, segments = asyncio.run(scenario())
    assert [s.speaker for s in segments] == ["SPEAKER_1", "SPEAKER_2"]
    assert [(t["start"], t["end"], t["speaker"]) for t in job.diarization_turns] == [
        (0, 3.5, "SPEAKER_1"),
        (2.5, 6, "SPEAKER_2"),
        (5, 5.5, "SPEAKER_3"),  # a voice heard only under another keeps its own name
    ]


def test_rttm_reads_back_with_pyannote(tmp_path):
    from pyannote.database.util import load_rttm

    turns = [turn(2.5, 6, "SPEAKER_2"), turn(0, 3.5, "SPEAKER_1"), turn(4, 4, "SPEAKER_3")]
    path = tmp_path / "a.rttm"
    path.write_text(to_rttm(turns, "my meeting"))
    annotation = load_rttm(str(path))["my_meeting"]
    got = sorted((s.start, s.end, lab) for s, _, lab in annotation.itertracks(yield_label=True))
    assert got == [(0.0, 3.5, "SPEAKER_1"), (2.5, 6.0, "SPEAKER_2")]  # overlap kept


def test_rttm_of_a_transcript_without_kept_turns_uses_its_segments():
    segments = [
        Segment(start=0, end=2, text="a", speaker="SPEAKER_1"),
        Segment(start=2, end=3, text="b"),
    ]
    assert turns_of(segments) == [{"start": 0, "end": 2, "speaker": "SPEAKER_1"}]
