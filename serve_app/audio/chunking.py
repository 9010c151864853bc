"""Where to cut the audio: speech spans (``serve_app.audio.vad``) packed into chunks cut
in silence. Pure (sample indices in, chunk plan out), so it is unit-tested without audio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """A span of the decoded audio sent to ASR as one request."""

    index: int
    start: int
    """First sample (absolute)."""
    end: int
    """One past the last sample (absolute)."""

    def start_s(self, sample_rate: int) -> float:
        return self.start / sample_rate

    def end_s(self, sample_rate: int) -> float:
        return self.end / sample_rate


def plan_chunks(
    speech: list[tuple[int, int]],
    total_samples: int,
    max_chunk_samples: int,
    start: int = 0,
    first_index: int = 0,
    first_chunk_samples: int | None = None,
) -> list[Chunk]:
    """Pack consecutive speech spans into chunks of at most ``max_chunk_samples``.

    A chunk starts and ends in the silence around its spans (half-way into the gap to its
    neighbours, never more than the length allows), so no word is cut at a boundary. Silence
    between chunks is not transcribed. A single span longer than the limit (VAD found no
    pause in it) is split into equal parts: the only case where a cut falls in speech.

    ``start``/``first_index``: plan only the audio after sample ``start`` (where an earlier
    plan ended), numbering chunks from ``first_index``. ``first_chunk_samples``: split chunk
    0 at its last pause within that length (its transcript is the first thing a live client
    sees); the cuts after it do not move (a cut moved changes what Whisper hears around it).
    A first span longer than that keeps its own length.
    """
    spans = sorted((max(start, s), min(total_samples, e)) for s, e in speech if e > s)
    spans = [(s, e) for s, e in spans if e > s]
    pieces: list[tuple[int, int]] = []
    for span_start, span_end in spans:
        if span_end - span_start <= max_chunk_samples:
            pieces.append((span_start, span_end))
            continue
        parts = -(-(span_end - span_start) // max_chunk_samples)
        step = -(-(span_end - span_start) // parts)
        pieces.extend((s, min(s + step, span_end)) for s in range(span_start, span_end, step))

    groups: list[list[tuple[int, int]]] = []
    for piece in pieces:
        if groups and piece[1] - groups[-1][0][0] <= max_chunk_samples:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    if first_chunk_samples is not None and first_index == 0 and groups:
        # Split the first chunk at a pause: every later cut stays where it was.
        head = [p for p in groups[0] if p[1] - groups[0][0][0] <= first_chunk_samples]
        if head and len(head) < len(groups[0]):
            groups[0:1] = [head, groups[0][len(head) :]]

    chunks: list[Chunk] = []
    for i, group in enumerate(groups):
        first, last = group[0][0], group[-1][1]
        prev_end = groups[i - 1][-1][1] if i > 0 else start
        next_start = groups[i + 1][0][0] if i + 1 < len(groups) else total_samples
        slack = max_chunk_samples - (last - first)
        # Widen into the silence on both sides: up to half of each gap, within the limit.
        lead = min((first - prev_end) // 2, slack // 2)
        trail = min((next_start - last) // 2, slack - lead)
        chunks.append(Chunk(index=first_index + i, start=first - lead, end=last + trail))
    return chunks


class IncrementalPlanner:
    """Plans chunks while VAD is still running, block by block, so ASR starts early.

    Feed it the speech spans of consecutive VAD blocks; it returns the chunks that can no
    longer change. Packing is greedy from the left, so every chunk that ends before the
    latest span starts is final; the rest waits for the next block (or ``finish``).
    """

    def __init__(
        self,
        total_samples: int,
        max_chunk_samples: int,
        join_samples: int,
        start: int = 0,
        first_index: int = 0,
        first_chunk_samples: int | None = None,
    ) -> None:
        self.total_samples = total_samples
        self.first_chunk_samples = first_chunk_samples
        self.max_chunk_samples = max_chunk_samples
        self.join_samples = join_samples
        """Spans this close to a block boundary on both sides are one span cut by the block."""
        self.start, self.first_index = start, first_index
        """Resume: plan after sample ``start``, numbering from ``first_index``."""
        self._spans: list[tuple[int, int]] = []
        self._emitted = 0
        self._planned_until = start
        """End of the last chunk returned (``start`` before any)."""

    def add_block(self, spans: list[tuple[int, int]], block_start: int) -> list[Chunk]:
        for start, end in spans:
            if (
                self._spans
                and start <= block_start + self.join_samples
                and self._spans[-1][1] >= block_start - self.join_samples
            ):
                self._spans[-1] = (self._spans[-1][0], end)
            else:
                self._spans.append((start, end))
        if not self._spans:
            return []
        last_start = self._spans[-1][0]
        return self._take(lambda c: c.end <= last_start)

    def finish(self, total_samples: int | None = None) -> list[Chunk]:
        """The remaining chunks; ``total_samples``: the audio's length, when it is known
        only now (a streamed decode), for the last chunk's trailing silence."""
        if total_samples is not None:
            self.total_samples = total_samples
        return self._take(lambda c: True)

    def keep_from(self, decoded_until: int) -> int:
        """The first sample a chunk not yet returned can start at, when the audio is decoded
        up to ``decoded_until`` (spans after it are not known yet): the samples before it
        can be dropped. A chunk widens into the silence before its first span by at most
        half its length, and never back past the chunk before it."""
        until = self._planned_until
        pending = [max(s, until) for s, e in self._spans if e > until]
        first = pending[0] if pending else decoded_until
        return max(self._planned_until, min(first, decoded_until) - self.max_chunk_samples)

    def _take(self, is_final: Callable[[Chunk], bool]) -> list[Chunk]:
        chunks = plan_chunks(
            self._spans,
            self.total_samples,
            self.max_chunk_samples,
            self.start,
            self.first_index,
            self.first_chunk_samples,
        )
        ready: list[Chunk] = []
        for chunk in chunks[self._emitted :]:
            if not is_final(chunk):
                break
            ready.append(chunk)
        self._emitted += len(ready)
        if ready:
            self._planned_until = ready[-1].end
        return ready
