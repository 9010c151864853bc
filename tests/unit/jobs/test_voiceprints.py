"""Known speakers in the job store, on SQLite and on a real PostgreSQL (tests/services.py):
owners see only their own people, a restarted store reloads them, matching names a job's
speakers one-to-one, and deleting a person leaves no voiceprint row behind."""

import asyncio

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from serve_app.speakers.models import SpeakerNotFoundError, Voiceprint, VoiceprintSource
from serve_app.transcript.segments import Segment
from tests.services import create_database

RNG = np.random.default_rng(3)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/jobs.sqlite3"
    return create_database(request.getfixturevalue("postgres_url"))


def count(url, table):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def voice():
    v = RNG.normal(size=192)
    return v / np.linalg.norm(v)


def sample(vector):
    return Voiceprint(
        speaker_id="", embedding=list(map(float, vector)), source=VoiceprintSource(kind="clip")
    )


def test_deleting_a_speaker_erases_every_voiceprint_row(url):
    async def scenario():
        store = JobStore(database_url=url)
        alice = await store.create_speaker("key-a", "Alice", [sample(voice()), sample(voice())])
        bob = await store.create_speaker("key-a", "Bob", [sample(voice())])
        await store.update_speaker("key-a", alice.id, "Alice B.", [sample(voice())])
        assert count(url, "voiceprints") == 4
        await store.delete_speaker("key-a", alice.id)
        store.close()
        # Nothing of Alice is left in the database, and a restarted store agrees.
        assert count(url, "voiceprints") == 1 and count(url, "speakers") == 1
        restarted = JobStore(database_url=url)
        assert [s.id for s in await restarted.list_speakers("key-a")] == [bob.id]
        with pytest.raises(SpeakerNotFoundError):
            await restarted.get_speaker("key-a", alice.id)
        await restarted.delete_speaker("key-a", bob.id)
        restarted.close()
        assert count(url, "voiceprints") == 0 and count(url, "speakers") == 0

    asyncio.run(scenario())


def test_another_owner_sees_none_of_the_speakers(url):
    async def scenario():
        store = JobStore(database_url=url)
        alice = await store.create_speaker("key-a", "Alice", [sample(voice())])
        assert await store.list_speakers("key-b") == []
        for call in (
            store.get_speaker("key-b", alice.id),
            store.update_speaker("key-b", alice.id, "Eve"),
            store.delete_speaker("key-b", alice.id),
        ):
            with pytest.raises(SpeakerNotFoundError):
                await call
        assert (await store.get_speaker("key-a", alice.id)).name == "Alice"
        store.close()
        assert count(url, "voiceprints") == 1

    asyncio.run(scenario())


def _diarized_job(store, owner, voices, known_speakers=None):
    """A completed job whose final diarization pass had these voices, 5 s each."""

    async def make():
        job = Job(
            job_id=f"job-{len(store._jobs)}",
            owner=owner,
            options=JobOptions(model_name="tiny.en", known_speakers=known_speakers),
        )
        await store.create_job(job)
        turns = [
            {"start": 5.0 * i, "end": 5.0 * i + 5.0, "speaker": f"L{i}", "confidence": 1.0}
            for i in range(len(voices))
        ]
        segments = [
            Segment(start=5.0 * i + 0.5, end=5.0 * i + 4.5, text=f"words {i}")
            for i in range(len(voices))
        ]
        await store.update_job(job.job_id, segments=segments)
        await store.update_speakers(
            job.job_id,
            turns,
            final=True,
            centroids={f"L{i}": list(map(float, v)) for i, v in enumerate(voices)},
        )
        await store.update_job(job.job_id, status=JobStatus.COMPLETED)
        assert store._jobs[job.job_id].job.speaker_turns == []  # settled into the transcript
        return job.job_id

    return make()


def near(v, similarity):
    other = voice()
    other = other - (other @ v) * v
    other /= np.linalg.norm(other)
    return similarity * v + np.sqrt(1 - similarity**2) * other


def test_a_job_names_known_speakers_and_relabels_after_enrolment(tmp_path):
    async def scenario():
        store = JobStore(database_url=f"sqlite:///{tmp_path}/jobs.sqlite3")
        alice, stranger = voice(), voice()
        enrolled = await store.create_speaker("key-a", "Alice", [sample(alice)])
        job_id = await _diarized_job(store, "key-a", [near(alice, 0.9), stranger])
        segments = await store.get_segments(job_id)
        assert [(s.speaker, s.speaker_id) for s in segments] == [
            ("Alice", enrolled.id),
            ("SPEAKER_2", None),
        ]
        assert segments[0].speaker_match == pytest.approx(0.9, abs=0.01)
        # Another key's job with the same voice is not named.
        other = await _diarized_job(store, "key-b", [near(alice, 0.9)])
        assert [s.speaker for s in await store.get_segments(other)] == ["SPEAKER_1"]
        # known_speakers=False: not named either.
        off = await _diarized_job(store, "key-a", [near(alice, 0.9)], known_speakers=False)
        assert [s.speaker for s in await store.get_segments(off)] == ["SPEAKER_1"]

        # Enrol the stranger from the job, then relabel: the job gets a new version.
        vector, label = await store.job_voiceprint(job_id, "SPEAKER_2")
        assert label == "SPEAKER_2"
        carol = await store.create_speaker(
            "key-a", "Carol", [sample(vector).model_copy(update={"speaker_id": ""})]
        )
        version = (await store.get_job(job_id)).transcript_version
        relabel = await store.start_relabel("key-a")
        await asyncio.gather(*store._relabels)
        done = await store.get_job(relabel.job_id)
        assert done.status == JobStatus.COMPLETED and done.progress == 100.0
        segments = await store.get_segments(job_id)
        assert [(s.speaker, s.speaker_id) for s in segments] == [
            ("Alice", enrolled.id),
            ("Carol", carol.id),
        ]
        assert [s.text for s in segments] == ["words 0", "words 1"]
        assert (await store.get_job(job_id)).transcript_version == version + 1
        # Idempotent: running it again changes no version.
        assert await store.relabel_job(job_id) is False
        # Deleting Carol and relabelling makes her unknown again.
        await store.delete_speaker("key-a", carol.id)
        assert await store.relabel_job(job_id) is True
        assert [s.speaker for s in await store.get_segments(job_id)] == ["Alice", "SPEAKER_2"]
        store.close()

    asyncio.run(scenario())
