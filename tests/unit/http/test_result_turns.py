"""``/result`` carries the diarization's overlap-aware ``speaker_turns``; ``format=rttm``
exports them (or, for a job without kept turns, its segments' speakers)."""

import asyncio

from serve_app.jobs.model import ChunkRecord, JobStatus
from serve_app.transcript.segments import Segment, Word
from tests.unit.http.test_routes import backend, client, submit  # noqa: F401 (fixtures)


def turn(start, end, speaker):
    return {"start": start, "end": end, "speaker": speaker, "confidence": 0.8}


def test_result_has_speaker_turns_with_overlap_and_rttm(client, backend):  # noqa: F811
    job_id = submit(client).json()["job_id"]
    store = backend.store

    async def finish():
        await store.add_chunks(job_id, [ChunkRecord(index=0, start=0, end=4)], planning_done=True)
        words = [Word(start=i, end=i + 0.9, word=f" w{i}", probability=1) for i in range(4)]
        await store.complete_chunk(job_id, 0, [Segment(start=0, end=4, text="x", words=words)])
        await store.update_speakers(
            job_id,
            [turn(0, 2, "a"), turn(2, 4, "b")],
            final=True,
            overlap_turns=[turn(0, 2.5, "a"), turn(1.5, 4, "b")],
        )
        await store.update_job(job_id, status=JobStatus.COMPLETED)

    asyncio.run(finish())
    result = client.get(f"/api/transcribe/result/{job_id}").json()
    assert [(t["start"], t["end"], t["speaker"]) for t in result["speaker_turns"]] == [
        (0, 2.5, "SPEAKER_1"),
        (1.5, 4, "SPEAKER_2"),
    ]
    assert {s["speaker"] for s in result["segments"]} == {"SPEAKER_1", "SPEAKER_2"}
    rttm = client.get(f"/api/transcribe/result/{job_id}?format=rttm")
    assert rttm.status_code == 200 and rttm.headers["content-disposition"].endswith('.rttm"')
    lines = [line.split() for line in rttm.text.splitlines()]
    assert [(row[3], row[4], row[7]) for row in lines] == [
        ("0.000", "2.500", "SPEAKER_1"),
        ("1.500", "2.500", "SPEAKER_2"),
    ]
