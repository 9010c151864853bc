"""faster-whisper's segments as transcript segments, and cutting the clip-long segments of
the batched decoder at sentence ends and pauses."""

from __future__ import annotations

from typing import Any

from serve_app.transcript.segments import Segment, Word


def from_engine(s: Any, offset: float = 0.0) -> Segment:
    """A faster-whisper segment as ours, ``offset`` seconds earlier."""
    return Segment(
        start=max(0.0, s.start - offset),
        end=max(0.0, s.end - offset),
        text=s.text.strip(),
        words=[
            Word(
                start=max(0.0, w.start - offset),
                end=max(0.0, w.end - offset),
                word=w.word,
                probability=w.probability,
            )
            for w in (s.words or [])
        ],
        avg_logprob=s.avg_logprob,
        no_speech_prob=s.no_speech_prob,
        compression_ratio=s.compression_ratio,
        temperature=s.temperature,
        tokens=list(s.tokens),
    )


SENTENCE_END = (".", "?", "!", "\u3002", "\uff1f", "\uff01")  # and CJK full-width ones
PAUSE_S = 1.0


def split_at_sentences(segment: Segment) -> list[Segment]:
    """Cut a clip-long segment after words that end a sentence or precede a pause.

    Pieces keep the segment's scores; their token lists stay empty (the tokens of a piece
    are not known without re-tokenising), as when speakers split a segment.
    """
    words = segment.words
    if not words:
        return [segment]
    groups: list[list[Word]] = [[]]
    for word, following in zip(words, [*words[1:], None], strict=True):
        groups[-1].append(word)
        ends = word.word.strip().endswith(SENTENCE_END)
        if following is not None and (ends or following.start - word.end >= PAUSE_S):
            groups.append([])
    if len(groups) == 1:
        return [segment]
    return [
        segment.model_copy(
            update={
                "start": group[0].start,
                "end": group[-1].end,
                "text": "".join(w.word for w in group).strip(),
                "words": group,
                "tokens": [],
            }
        )
        for group in groups
    ]
