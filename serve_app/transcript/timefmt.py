"""Time formatting shared by the API and the exports."""

from __future__ import annotations

from datetime import UTC, datetime


def format_display(seconds: float) -> str:
    """``HH:MM:SS.mmm`` for a non-negative number of seconds (rounded to the millisecond)."""
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def utc_now_iso() -> str:
    """The current time as an ISO-8601 UTC string, as every ``updated_at`` is reported."""
    return datetime.now(UTC).isoformat()
