"""Summary jobs that survive their replica: which running summary the store gives up on.

A summary job keeps its request (``Job.request``) and is leased to the assistant replica
running it, which renews the lease while it runs however long one LLM call takes. When the
replica stops, it hands the job back (or, if it died, the lease lapses) and a dispatch
round on any assistant replica runs the job again from its request (``lapsed_jobs`` with
``kind="summary"``, then ``claim``). The store fails a running summary only when nobody
can or does take it up again, so none is left processing for good:

- a job stored by an older version keeps no request: it fails once its lease lapses;
- a job no replica resumed within :data:`SUMMARY_UNCLAIMED_S` of its lease lapsing (no
  assistant replica is running, or every dispatch failed) fails, saying so;
- a job interrupted ``job_store.max_attempts`` times fails at its next claim
  (``serve_app.jobs.leases``).
"""

from __future__ import annotations

from serve_app.jobs.model import Job

SUMMARY_STALE_S = 900.0
"""A summary job without a lease (stored by an older version) and with no update for this
long failed with its replica."""

SUMMARY_UNCLAIMED_S = 900.0
"""A summary whose lease lapsed (or was handed back) this long ago without a replica taking
it up again, and with no update meanwhile, is failed."""


def summary_to_fail(job: Job, now: float) -> str | None:
    """Why the store fails this running summary job now, or None to leave it running."""
    if job.request is None:  # cannot be run again: the request was not kept
        if job.lease_owner is not None and job.lease_expires_at < now:
            return "the replica writing it stopped (its lease lapsed); submit it again"
        if job.lease_owner is None and now - job.updated_at > SUMMARY_STALE_S:
            return f"no progress for {int(now - job.updated_at)} s (the replica writing it stopped)"
        return None
    lapsed_for = now - job.lease_expires_at
    if lapsed_for > SUMMARY_UNCLAIMED_S and now - job.updated_at > SUMMARY_UNCLAIMED_S:
        return (
            f"no replica took it up again for {int(now - job.updated_at)} s after the one "
            "writing it stopped (is the assistant deployment running?); submit it again"
        )
    return None
