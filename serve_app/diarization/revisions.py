"""The live transcript with speakers: segment ids, the speaker view of a transcript, and the
revision events that take a client from one view to the next.

* Every ASR segment gets a stable id when it is published: its position in the transcript
  (``"0"``, ``"1"``, ...). Aligning it with speaker turns may split it where the speaker
  changes; its pieces are ``"<id>"``, ``"<id>.1"``, ``"<id>.2"``, ...
* :func:`speaker_view` is the transcript a client shows: every ASR segment aligned with the
  current exclusive turns (``serve_app.diarization.alignment.align_segments``). It is a pure
  function of the ASR segments and the turns, so the store can rebuild it after a restart.
* :func:`revision` compares two views and gives the ``revision`` event: the pieces that are
  new or changed (by id), and the ids that no longer exist. A client that applies every
  event in order holds exactly the newer view (``serve_app.client.transcript`` is that
  client logic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from serve_app.diarization.alignment import align_segments
from serve_app.transcript.segments import Segment


def with_ids(segments: Sequence[Segment], first: int) -> list[Segment]:
    """``segments`` numbered from ``first`` (their positions in the transcript)."""
    return [s.model_copy(update={"id": str(first + i)}) for i, s in enumerate(segments)]


def speaker_view(
    segments: Sequence[Segment],
    turns: Sequence[Any],
    matches: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Segment]:
    """The transcript aligned with ``turns`` (none: the segments as they are), pieces of a
    split segment numbered ``<id>``, ``<id>.1``, ...; speakers in ``matches`` (label ->
    ``{speaker_id, name, score}``, known speakers) take the enrolled person's name."""
    if not turns:
        return list(segments)
    out: list[Segment] = []
    for seg in segments:
        pieces = align_segments([seg], turns)
        for k, piece in enumerate(pieces):
            piece = named(piece, matches or {})
            out.append(piece.model_copy(update={"id": seg.id if k == 0 else f"{seg.id}.{k}"}))
    return out


def named(segment: Segment, matches: Mapping[str, Mapping[str, Any]]) -> Segment:
    """``segment`` under the enrolled name its speaker label matched (words too)."""
    match = matches.get(segment.speaker or "")
    if match is None:
        return segment
    name = str(match["name"])
    words = [
        w.model_copy(update={"speaker": name}) if w.speaker == segment.speaker else w
        for w in segment.words
    ]
    return segment.model_copy(
        update={
            "speaker": name,
            "speaker_id": match["speaker_id"],
            "speaker_match": match["score"],
            "words": words,
        }
    )


def revision(old: Sequence[Segment], new: Sequence[Segment], final: bool) -> dict[str, Any] | None:
    """The ``revision`` event from view ``old`` to view ``new``; None when nothing a client
    shows has changed."""
    before = {s.id: s.to_public() for s in old}
    after = {s.id: s.to_public() for s in new}
    changed = [seg for sid, seg in after.items() if before.get(sid) != seg]
    removed = [sid for sid in before if sid not in after]
    if not changed and not removed and not final:
        return None
    speakers = sorted({s.speaker for s in new if s.speaker}, key=speaker_order)
    return {
        "type": "revision",
        "final": final,
        "segments": changed,
        "removed": removed,
        "speakers": speakers,
    }


def speaker_order(name: str) -> tuple[int, str]:
    """``SPEAKER_2`` before ``SPEAKER_10``."""
    tail = name.rsplit("_", 1)[-1]
    return (int(tail), name) if tail.isdigit() else (1 << 30, name)
