"""The job store's logic in-process (no Ray): plans, ordered publishing, idempotent writes,
event sequence numbers across restarts and compaction, leases, expiry."""

import asyncio
import threading
import time

import pytest

from serve_app.client.transcript import apply_events
from serve_app.errors import JobNotFinishedError, VersionConflictError
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import (
    ChunkRecord,
    InvalidTransitionError,
    Job,
    JobOptions,
    JobStatus,
    check_transition,
)
from serve_app.jobs.store import JobStore
from serve_app.transcript.segments import Segment, Word
from tests.waiting import await_until


def new_job(job_id="j1", **fields):
    return Job(job_id=job_id, options=JobOptions(model_name="tiny.en"), **fields)


def seg(start, end, text="hi"):
    return Segment(start=start, end=end, text=text)


def chunks(*bounds):
    return [ChunkRecord(index=i, start=a, end=b) for i, (a, b) in enumerate(bounds)]


def run(coro):
    return asyncio.run(coro)


def texts(events):
    return [e["text"] for e in events if e["type"] == "segment"]


def test_terminal_statuses_are_final():
    check_transition(JobStatus.PROCESSING, JobStatus.COMPLETED)
    with pytest.raises(InvalidTransitionError):
        check_transition(JobStatus.COMPLETED, JobStatus.PROCESSING)
    with pytest.raises(InvalidTransitionError):
        check_transition(JobStatus.FAILED, JobStatus.COMPLETED)


def test_progress_is_monotonic_and_completion_is_100():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.update_job("j1", progress=40)
        job = await store.update_job("j1", progress=10)
        assert job.progress == 40
        job = await store.update_job("j1", status=JobStatus.COMPLETED)
        assert job.progress == 100
        # A finished job ignores late writers.
        job = await store.update_job("j1", status=JobStatus.FAILED, message="late")
        assert job.status == JobStatus.COMPLETED and job.message != "late"

    run(scenario())


def test_unknown_job_updates_are_ignored():
    assert run(JobStore().update_job("nope", progress=3)) is None


def test_chunks_publish_in_time_order_once_each():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job(audio_duration=30.0))
        await store.add_chunks("j1", chunks((0, 10), (10, 20), (20, 30)), planning_done=True)
        # chunk 1 finishes first: nothing is published until chunk 0 is in
        await store.complete_chunk("j1", 1, [seg(0.5, 2, "b")])
        assert await store.get_segments("j1") == []
        await store.complete_chunk("j1", 0, [seg(1, 3, "a")])
        await store.complete_chunk("j1", 0, [seg(1, 3, "a again")])  # a retried call
        await store.complete_chunk("j1", 2, [seg(0, 1, "c")])
        await store.complete_chunk("j1", 2, [seg(0, 1, "c")])
        published = await store.get_segments("j1")
        assert [(s.text, s.start) for s in published] == [("a", 1), ("b", 10.5), ("c", 20)]
        batch = await store.wait_events("j1", 0, 0.01)
        assert texts(batch.events) == ["a", "b", "c"]
        job = await store.get_job("j1")
        assert job.chunk_info.current_chunk == 3 and job.progress == pytest.approx(99)

    run(scenario())


def test_events_are_numbered_and_a_cursor_resumes_without_gap_or_duplicate():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10), (10, 20)), planning_done=True)
        await store.complete_chunk("j1", 0, [seg(0, 1, "a"), seg(1, 2, "b")])
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        await store.complete_chunk("j1", 1, [seg(0, 1, "c")])
        await store.update_job("j1", status=JobStatus.COMPLETED)
        rest = await store.wait_events("j1", first.cursor, timeout_s=0.1)
        seqs = [e["seq"] for e in first.events + rest.events]
        assert seqs == sorted(set(seqs))
        assert texts(first.events + rest.events) == ["a", "b", "c"]
        assert rest.finished and rest.events[-1]["status"] == "completed"

    run(scenario())


def test_finished_history_is_compacted_to_segments_and_final_status():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10)), planning_done=True)
        await store.update_job("j1", message="working")
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])
        live = await store.wait_events("j1", 0, 0.01)
        await store.update_job("j1", status=JobStatus.COMPLETED)
        late = await store.wait_events("j1", 0, 0.01)
        assert [e["type"] for e in late.events] == ["segment", "status"]
        # a client that followed live continues with just the final status
        tail = await store.wait_events("j1", live.cursor, 0.01)
        assert [e["status"] for e in tail.events] == ["completed"] and tail.finished

    run(scenario())


def test_live_speakers_are_revised_and_a_client_ends_with_the_result():
    def turn(start, end, speaker):
        return {"start": start, "end": end, "speaker": speaker, "confidence": 0.9}

    def words(start, end, n):
        step = (end - start) / n
        return [
            Word(start=start + i * step, end=start + (i + 1) * step, word=f" w{i}", probability=1)
            for i in range(n)
        ]

    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10), (10, 20)), planning_done=True)
        first = seg(0, 4, "a").model_copy(update={"words": words(0, 4, 4)})
        await store.complete_chunk("j1", 0, [first])
        batch = await store.wait_events("j1", 0, 0.01)
        live = [e for e in batch.events if e["type"] == "segment"]
        assert [(e["id"], e["speaker"]) for e in live] == [("0", None)]  # streams at once
        # a provisional pass: the diarizer's labels are renamed onto SPEAKER_<n>
        await store.update_speakers("j1", [turn(0, 4, "7")])
        # the second chunk arrives with the speakers known so far
        second = seg(0, 4, "b").model_copy(update={"words": words(0, 4, 4)})
        await store.complete_chunk("j1", 1, [second])
        # the final pass splits the first segment between two voices; the diarizer's
        # labels changed, the names must not
        await store.update_speakers(
            "j1", [turn(0, 2, "2"), turn(2, 4, "1"), turn(10, 14, "2")], final=True
        )
        await store.update_job("j1", status=JobStatus.COMPLETED)
        everything = await store.wait_events("j1", batch.cursor, 0.01)
        events = batch.events + everything.events
        revisions = [e for e in events if e["type"] == "revision"]
        assert revisions[0]["segments"][0]["speaker"] == "SPEAKER_1"
        assert revisions[-1]["final"] and revisions[-1]["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
        result = [s.to_public() for s in await store.get_segments("j1")]
        assert [(s["id"], s["speaker"]) for s in result] == [
            ("0", "SPEAKER_1"),
            ("0.1", "SPEAKER_2"),
            ("1", "SPEAKER_1"),
        ]
        assert apply_events(events) == result
        # a late subscriber gets the current state, not the history of revisions
        late = await store.wait_events("j1", 0, 0.01)
        assert [e["type"] for e in late.events].count("revision") == 1
        assert apply_events(late.events) == result and late.finished

    run(scenario())


def test_waiting_subscriber_is_woken_by_a_new_event():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10)))
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        waiter = asyncio.create_task(store.wait_events("j1", first.cursor, timeout_s=5))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await store.complete_chunk("j1", 0, [seg(0, 1)])
        batch = await waiter
        assert time.perf_counter() - started < 1
        assert batch.events[0]["type"] == "segment"
        assert not batch.finished

    run(scenario())


def test_wait_times_out_with_no_events():
    async def scenario():
        store = JobStore()
        await store.create_job(new_job())
        first = await store.wait_events("j1", 0, timeout_s=0.1)
        batch = await store.wait_events("j1", first.cursor, timeout_s=0.05)
        assert batch.events == [] and batch.cursor == first.cursor

    run(scenario())


def test_unknown_job_has_no_events():
    assert run(JobStore().wait_events("nope", 0, 0.01)) is None


def test_create_is_idempotent_by_id_and_by_key():
    async def scenario():
        store = JobStore()
        first = await store.create_job(new_job("a", idempotency_key="k"))
        assert (await store.create_job(new_job("a"))).job_id == "a"
        assert (await store.create_job(new_job("b", idempotency_key="k"))).job_id == "a"
        assert [j.job_id for j in await store.list_jobs()] == [first.job_id]

    run(scenario())


def test_restart_loses_and_repeats_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    state = {}

    async def write():
        store = JobStore(url)
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10), (10, 20), (20, 30)))
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])
        await store.complete_chunk("j1", 2, [seg(0, 1, "c")])  # not publishable yet
        state["cursor"] = (await store.wait_events("j1", 0, 0.01)).cursor
        await store.create_job(new_job("j2"))
        await store.update_job("j2", status=JobStatus.COMPLETED, language="en")

    async def read():
        store = JobStore(url)
        j1, j2 = await store.get_job("j1"), await store.get_job("j2")
        assert j1.status == JobStatus.PROCESSING and len(j1.chunks) == 3
        assert j2.status == JobStatus.COMPLETED and j2.language == "en"
        assert sorted(await store.chunk_results("j1")) == [0, 2]
        await store.complete_chunk("j1", 1, [seg(0, 1, "b")])
        tail = await store.wait_events("j1", state["cursor"], 0.01)
        assert texts(tail.events) == ["b", "c"]  # no gap, no duplicate of "a"
        replay = await store.wait_events("j1", 0, 0.01)
        assert texts(replay.events) == ["a", "b", "c"]
        assert len(await store.list_jobs()) == 2

    run(write())
    run(read())


async def planned(url, *bounds):
    """A store on ``url`` with job j1 planned into chunks of ``bounds``."""
    store = JobStore(url)
    await store.create_job(new_job())
    await store.add_chunks("j1", chunks(*bounds), planning_done=True)
    return store


async def published_once(store):
    """j1's chunks "a" and "b" are in its transcript and its event log, each once."""
    assert [s.text for s in await store.get_segments("j1")] == ["a", "b"]
    assert texts((await store.wait_events("j1", 0, 0.01)).events) == ["a", "b"]


def test_a_store_killed_mid_change_leaves_none_of_it(tmp_path, monkeypatch):
    """The chunk result, its segments, the job row and the events commit together: a store
    that dies before the job row is written leaves nothing, so the retried call and the next
    chunk publish each segment once (the fault drill's duplicate, in-process)."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    save_job = JobDatabase.save_job

    async def killed_mid_change():
        store = await planned(url, (0, 10), (10, 20))

        def dies(self, job):
            raise SystemExit("killed")

        monkeypatch.setattr(JobDatabase, "save_job", dies)
        with pytest.raises(SystemExit):
            await store.complete_chunk("j1", 0, [seg(0, 1, "a")])
        monkeypatch.setattr(JobDatabase, "save_job", save_job)

    async def restarted():
        store = JobStore(url)
        assert await store.chunk_results("j1") == {}
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])  # Ray's retry
        await store.complete_chunk("j1", 1, [seg(0, 1, "b")])
        await published_once(store)

    run(killed_mid_change())
    run(restarted())


def test_a_failed_commit_is_retried_with_the_jobs_next_change(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    save_job = JobDatabase.save_job

    def away(self, job):
        raise ConnectionError("database restarting")

    async def scenario():
        store = await planned(url, (0, 10), (10, 20))
        monkeypatch.setattr(JobDatabase, "save_job", away)
        with pytest.raises(ConnectionError):
            await store.complete_chunk("j1", 0, [seg(0, 1, "a")])
        monkeypatch.setattr(JobDatabase, "save_job", save_job)
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])  # the runner's retry
        await store.complete_chunk("j1", 1, [seg(0, 1, "b")])

    run(scenario())
    run(published_once(JobStore(url)))


def test_subscribers_get_only_committed_events(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    save_job, release, entered = JobDatabase.save_job, threading.Event(), threading.Event()

    def slow(self, job):
        entered.set()
        release.wait(5)
        save_job(self, job)

    async def scenario():
        store = await planned(url, (0, 10))
        monkeypatch.setattr(JobDatabase, "save_job", slow)
        writing = asyncio.create_task(store.complete_chunk("j1", 0, [seg(0, 1, "a")]))
        await await_until(entered.is_set, timeout=5, what="the commit to be in its transaction")
        during = await store.wait_events("j1", 0, 0.05)
        release.set()
        await writing
        after = await store.wait_events("j1", during.cursor, 0.01)
        assert texts(during.events) == [] and texts(after.events) == ["a"]

    run(scenario())


def test_leases_claim_renew_release_and_dispatch():
    async def scenario():
        store = JobStore(lease_s=0.2, max_attempts=3)
        await store.create_job(new_job())
        job = await store.claim("j1", "r1")
        assert job.lease_owner == "r1" and job.attempts == 1
        assert await store.claim("j1", "r2") is None  # held
        assert await store.renew("j1", "r1")
        assert await store.lapsed_jobs() == []
        # r1 stops renewing: its lease lapses
        lapsed = await await_until(store.lapsed_jobs, timeout=5, what="r1's lease to lapse")
        ((job_id, token),) = lapsed
        assert await store.lapsed_jobs() == []  # handed out once
        assert await store.claim(job_id, "r3") is None  # not the dispatched runner
        assert (await store.claim(job_id, "r2", token)).attempts == 2
        assert not await store.renew("j1", "r1")  # r1 lost it
        await store.release("j1", "r2")
        ((_, token),) = await store.lapsed_jobs()  # released: offered at once
        assert await store.claim("j1", "r4", token) is not None
        await store.release("j1", "r4")
        ((_, token),) = await store.lapsed_jobs()
        assert await store.claim("j1", "r5", token) is None  # a fourth run: exhausted
        job = await store.get_job("j1")
        assert job.status == JobStatus.FAILED and "retries exhausted" in job.message

    run(scenario())


def test_sweep_expires_old_jobs_and_fails_stale_summaries(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"

    async def scenario():
        store = JobStore(url, job_ttl_s=100)
        await store.create_job(new_job("old"))
        await store.create_job(new_job("summary", kind="summary"))
        now = time.time()
        await store.sweep(now + 50)
        assert (await store.get_job("old")).status == JobStatus.PROCESSING
        await store.sweep(now + 99)
        assert (await store.get_job("old")).status == JobStatus.PROCESSING  # within its TTL
        await store.sweep(now + 1000)
        assert await store.get_job("old") is None
        assert await JobStore(url).get_job("old") is None

    async def stale():
        store = JobStore()
        await store.create_job(new_job("s", kind="summary"))
        await store.sweep(time.time() + 1000)
        job = await store.get_job("s")
        assert job.status == JobStatus.FAILED and "no progress" in job.message

    run(scenario())
    run(stale())


class Killed(BaseException):
    """The store's process dying mid-call (not an error anything retries)."""


def test_a_commit_saves_its_own_change_and_not_a_later_one(tmp_path, monkeypatch):
    """Two changes of one job in flight at once: the first commit writes the job row as
    the first change left it. Before, it serialised the live job, so a store killed before
    the second commit left a row that said chunk 0 was published while its result and
    segments were gone: the retried call could never publish them again."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    save_job, release, calls = JobDatabase.save_job, threading.Event(), []

    def first_slow_then_killed(self, job):
        calls.append(job)
        if len(calls) == 1:
            release.wait(5)
            return save_job(self, job)
        raise Killed()

    async def two_changes_then_killed():
        store = await planned(url, (0, 10), (10, 20))
        monkeypatch.setattr(JobDatabase, "save_job", first_slow_then_killed)
        first = asyncio.create_task(store.update_job("j1", message="working"))
        await await_until(lambda: calls, timeout=5, what="the first commit's transaction")
        second = asyncio.create_task(store.complete_chunk("j1", 0, [seg(0, 1, "a")]))
        await asyncio.sleep(0.05)
        release.set()
        await first
        with pytest.raises(Killed):
            await second
        monkeypatch.setattr(JobDatabase, "save_job", save_job)

    async def restarted():
        store = JobStore(url)
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])  # Ray's retry
        await store.complete_chunk("j1", 1, [seg(0, 1, "b")])
        await published_once(store)

    run(two_changes_then_killed())
    run(restarted())


def test_a_failed_final_commit_is_flushed_when_the_database_returns(tmp_path, monkeypatch):
    """The COMPLETED write fails (database away) and no further change comes: the store
    commits it on its own once the database is back, and subscribers then see the end."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    save_job = JobDatabase.save_job

    def away(self, job):
        raise ConnectionError("database restarting")

    async def scenario():
        store = JobStore(url, sweep_interval_s=0.05, commit_attempts=2, commit_backoff_s=0.01)
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10)), planning_done=True)
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")])
        monkeypatch.setattr(JobDatabase, "save_job", away)
        with pytest.raises(ConnectionError):
            await store.update_job("j1", status=JobStatus.COMPLETED)
        monkeypatch.setattr(JobDatabase, "save_job", save_job)
        batch, events = await store.wait_events("j1", 0, 0.1), []
        for _ in range(30):
            events += batch.events
            if batch.finished:
                break
            batch = await store.wait_events("j1", batch.cursor, 0.1)
        assert batch.finished and events[-1]["status"] == "completed"

    run(scenario())
    job = run(JobStore(url).get_job("j1"))
    assert job.status == JobStatus.COMPLETED


def test_a_runner_whose_lease_was_taken_over_can_change_nothing():
    """Fencing: r1 stalls past its lease, the job goes to r2 under a new token; every write
    r1 makes with its old token is refused (and r1 stops), and r1 cannot drop r2's lease
    (the ingress releases a dead runner's job under that runner's identity and token)."""

    async def scenario():
        store = JobStore(lease_s=0.05)
        await store.create_job(new_job())
        await store.add_chunks("j1", chunks((0, 10), (10, 20)), planning_done=True)
        old = (await store.claim("j1", "r1")).lease_fence
        await store.complete_chunk("j1", 0, [seg(0, 1, "a")], fence=old)
        # r1 stalls past its lease
        ((_, token),) = await await_until(store.lapsed_jobs, timeout=5, what="r1's lease to lapse")
        with pytest.raises(LeaseLostError):  # handed out: r1 is fenced off already
            await store.complete_chunk("j1", 1, [seg(0, 1, "stale")], fence=old)
        new = (await store.claim("j1", "r2", token)).lease_fence
        assert new > old
        for write in (
            store.complete_chunk("j1", 1, [seg(0, 1, "stale")], fence=old),
            store.update_job("j1", status=JobStatus.FAILED, fence=old),
            store.add_chunks("j1", chunks((0, 10), (10, 20), (20, 30)), fence=old),
            store.update_chunk("j1", ChunkRecord(index=1, start=10, end=20), fence=old),
            store.update_speakers("j1", [], final=True, fence=old),
        ):
            with pytest.raises(LeaseLostError):
                await write
        assert not await store.renew("j1", "r1", old)
        await store.release("j1", "r1", old)
        job = await store.get_job("j1")
        assert job.lease_owner == "r2" and job.status == JobStatus.PROCESSING
        assert len(job.chunks) == 2 and not job.speakers_final
        await store.complete_chunk("j1", 1, [seg(0, 1, "b")], fence=new)
        assert [s.text for s in await store.get_segments("j1")] == ["a", "b"]
        await store.release("j1", "r2", new)  # the holder can
        assert (await store.get_job("j1")).lease_owner is None

    run(scenario())


def test_the_first_runner_holds_the_first_token():
    async def scenario():
        store = JobStore()
        created = await store.create_job(new_job(lease_owner="r1", attempts=1))
        assert created.lease_fence == 1
        claimed = await store.claim("j1", "r1")
        assert claimed.lease_fence == 1 and claimed.attempts == 1  # the same lease

    run(scenario())


async def completed(store, *texts_):
    """Job j1 completed with one one-second segment per text, in one chunk."""
    await store.create_job(new_job())
    await store.add_chunks("j1", chunks((0, 10)), planning_done=True)
    await store.complete_chunk("j1", 0, [seg(i, i + 1, t) for i, t in enumerate(texts_)])
    await store.update_job("j1", status=JobStatus.COMPLETED)


def test_an_applied_span_gets_an_id_of_its_own_and_reaches_the_replay():
    """A re-transcribed span inserted between kept segments took its position as id, the
    id of a segment still there; and a replay kept showing the transcript before it."""

    async def scenario():
        store = JobStore()
        await completed(store, "a", "b", "c")
        kept = await store.get_segments("j1")
        inserted = Segment(start=0.5, end=0.9, text="new")  # no id, as replace_span makes
        await store.replace_segments("j1", [kept[0], inserted, *kept[1:]])
        result = await store.get_segments("j1")
        ids = [s.id for s in result]
        assert len(set(ids)) == len(ids) == 4
        assert [s.text for s in result] == ["a", "new", "b", "c"]
        replay = await store.wait_events("j1", 0, 0.01)
        assert apply_events(replay.events) == [s.to_public() for s in result]
        assert replay.finished

    run(scenario())


def test_two_clients_applying_spans_at_once_never_overwrite_each_other():
    async def scenario():
        store = JobStore()
        await completed(store, "a", "b")
        seen = await store.get_job("j1")
        first = await store.get_segments("j1")
        version = seen.transcript_version
        await store.replace_segments("j1", [first[0].model_copy(update={"text": "A"}), first[1]])
        second = [first[0], first[1].model_copy(update={"text": "B"})]  # made on version 0
        with pytest.raises(VersionConflictError):
            await store.replace_segments("j1", second, version)
        assert [s.text for s in await store.get_segments("j1")] == ["A", "b"]
        assert (await store.get_job("j1")).transcript_version == version + 1

    async def running():
        store = JobStore()
        await store.create_job(new_job())
        with pytest.raises(JobNotFinishedError):
            await store.replace_segments("j1", [seg(0, 1, "x")])

    run(scenario())
    run(running())


def test_a_summary_job_lives_as_long_as_its_lease_however_slow_its_llm_calls():
    """The sweep failed a summary after 900 s without an update, as long as one LLM call
    may take; now it keys on the assistant replica's lease (renewed while the job runs)."""

    async def scenario():
        store = JobStore(lease_s=10)
        now = time.time()
        job = new_job("s", kind="summary", lease_owner="a1", lease_expires_at=now + 2000)
        await store.create_job(job)
        await store.sweep(now + 1000)  # no update for 1000 s, lease still held
        assert (await store.get_job("s")).status == JobStatus.PROCESSING
        await store.sweep(now + 2001)  # the replica stopped renewing
        swept = await store.get_job("s")
        assert swept.status == JobStatus.FAILED and "lease lapsed" in swept.message
        assert await store.renew("s", "a1", swept.lease_fence) is False

    run(scenario())
