"""Exports parsed back with independent libraries (srt, webvtt-py)."""

import io

import srt
import webvtt

from serve_app.transcript.exports import render
from serve_app.transcript.segments import Segment

SEGMENTS = [
    Segment(start=0.0, end=2.5, text="Hello there.", speaker="SPEAKER_1"),
    Segment(
        start=2.5,
        end=3661.25,
        text="General --> Kenobi\n\nyou <b>are</b> bold & brave",
        speaker="SPEAKER_2",
    ),
    Segment(start=3662.0, end=3662.0, text="No speaker here."),
]


def test_srt_parses_back_with_speakers():
    subtitles = list(srt.parse(render(SEGMENTS, "srt")))
    assert len(subtitles) == 3
    assert subtitles[0].content == "[SPEAKER_1] Hello there."
    assert subtitles[1].start.total_seconds() == 2.5
    assert subtitles[1].end.total_seconds() == 3661.25
    assert "SPEAKER_2" in subtitles[1].content and "\n" not in subtitles[1].content
    assert subtitles[2].content == "No speaker here."
    assert subtitles[2].end > subtitles[2].start  # zero-length cue made valid


def test_vtt_parses_back_with_voices():
    captions = webvtt.from_buffer(io.StringIO(render(SEGMENTS, "vtt")))
    assert len(captions) == 3
    assert captions[0].start == "00:00:00.000" and captions[0].end == "00:00:02.500"
    assert captions[0].voice == "SPEAKER_1" and captions[0].text == "Hello there."
    assert captions[1].voice == "SPEAKER_2"
    assert captions[1].end == "01:01:01.250"
    assert "bold &amp; brave" in captions[1].text  # escaped, as WebVTT requires
    assert captions[2].voice is None


def test_txt_has_one_line_per_segment():
    lines = render(SEGMENTS, "txt").splitlines()
    assert lines[0] == "SPEAKER_1: Hello there."
    assert lines[2] == "No speaker here."
    assert len(lines) == 3


def test_empty_transcript_exports():
    assert render([], "txt") == ""
    assert list(srt.parse(render([], "srt"))) == []
    assert len(webvtt.from_buffer(io.StringIO(render([], "vtt")))) == 0
