"""Replicas racing for a summary job whose runner stopped (Hypothesis): whatever the order of
dispatch rounds, claims, renewals, writes, hand-backs, deaths and sweeps, at most one runner
can write to the job at a time, a superseded runner's writes are refused, and the job never
stays processing once nobody runs it: it is taken up again or fails with a reason.

The real job store, in-process, on a clock the test moves (leases use ``time.time``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import serve_app.jobs.leases as leases_module
from serve_app.jobs.leases import LeaseLostError
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.jobs.store import JobStore
from serve_app.jobs.summaries import SUMMARY_UNCLAIMED_S

LEASE_S = 10.0
REPLICAS = 3


@dataclass
class Replica:
    tokens: list[str] = field(default_factory=list)
    runner: str | None = None
    fence: int | None = None


OPERATIONS = ["tick", "dispatch", "claim", "take_up", "renew", "write", "hand_back", "die", "sweep"]
operations = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, REPLICAS - 1)),
    min_size=8,
    max_size=40,
)
TICKS = [4.0, 11.0, 130.0]  # within a lease, past it, past a dispatch hand-out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations)
def test_racing_replicas_never_share_a_summary_and_never_strand_it(steps, monkeypatch_module):
    clock = SimpleNamespace(now=1000.0)
    monkeypatch_module.setattr(leases_module, "time", SimpleNamespace(time=lambda: clock.now))

    async def scenario() -> None:
        store = JobStore(lease_s=LEASE_S, max_attempts=50)
        job = Job(
            job_id="s",
            kind="summary",
            options=JobOptions(model_name="m"),
            request={"transcript": [], "full_text": "Hello."},
            lease_owner="first:0",
            lease_expires_at=clock.now + LEASE_S,
            attempts=1,
        )
        await store.create_job(job)
        store._jobs["s"].job.updated_at = clock.now
        replicas = [Replica() for _ in range(REPLICAS)]
        replicas[0].runner, replicas[0].fence = "first:0", job.lease_fence  # as created
        claims = 0
        for op, arg in steps:
            current = store._jobs["s"].job
            if op == "tick":
                clock.now += TICKS[arg]
            elif op == "sweep":
                await store.sweep(clock.now)
            else:
                replica = replicas[arg]
                if op in ("dispatch", "take_up"):
                    replica.tokens += [t for _, t in await store.lapsed_jobs(kind="summary")]
                if op in ("claim", "take_up") and replica.tokens:
                    claims += 1
                    runner = f"r{arg}:{claims}"
                    claimed = await store.claim("s", runner, replica.tokens.pop())
                    if claimed is not None:
                        replica.runner, replica.fence = runner, claimed.lease_fence
                elif op == "renew" and replica.runner:
                    if not await store.renew("s", replica.runner, replica.fence):
                        replica.runner = replica.fence = None
                elif op == "write" and replica.runner:
                    ours = replica.fence == current.lease_fence
                    try:
                        await store.update_job("s", progress=50.0, fence=replica.fence)
                        assert ours or current.finished, "a superseded runner wrote"
                    except LeaseLostError:
                        assert not ours
                elif op == "hand_back" and replica.runner:
                    held = (current.lease_owner, current.lease_expires_at)
                    await store.release("s", replica.runner, replica.fence)
                    if replica.runner != held[0]:  # a successor's lease is never dropped
                        assert (current.lease_owner, current.lease_expires_at) == held
                    replica.runner = replica.fence = None
                elif op == "die":
                    replicas[arg] = Replica()
            job_now = store._jobs["s"].job
            if not job_now.finished:
                # One writer at most: only the runner holding the current fence.
                holders = [
                    r for r in replicas if r.runner == job_now.lease_owner and r.runner is not None
                ]
                assert len(holders) <= 1
                assert all(r.fence == job_now.lease_fence for r in holders)
        # Nobody runs it any more: it is offered again, or (nobody takes it) failed.
        for replica in replicas:
            replica.runner = None
        clock.now += LEASE_S + SUMMARY_UNCLAIMED_S + 1
        job_end = store._jobs["s"].job
        job_end.updated_at = min(job_end.updated_at, clock.now - SUMMARY_UNCLAIMED_S - 1)
        if not job_end.finished:
            offered = await store.lapsed_jobs(kind="summary")
            assert [j for j, _ in offered] == ["s"], "a stopped summary was not offered again"
            clock.now += 200.0  # the dispatcher that took it died too
            job_end.updated_at = min(job_end.updated_at, clock.now - SUMMARY_UNCLAIMED_S - 1)
            clock.now += SUMMARY_UNCLAIMED_S
            await store.sweep(clock.now)
            failed = store._jobs["s"].job
            assert failed.status == JobStatus.FAILED and "no replica took it up" in failed.message

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
