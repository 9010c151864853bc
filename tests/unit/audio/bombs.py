"""Hostile and odd audio files for the bad-input tests, made with PyAV and ``struct`` (no
system ffmpeg): decode bombs (hours of silence in a small file, headers that lie) and files
whose kind a server must refuse (64 channels, 1 Hz, 384 kHz, video without audio)."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np

OPUS_FRAME = 2880  # 60 ms at 48 kHz, the longest Opus frame


def opus_silence_mkv(seconds: float) -> bytes:
    """``seconds`` of silent Opus in Matroska written as a live stream: no duration in the
    header, no index. One silent packet is encoded and repeated, so hours take a moment
    (an hour is about 0.9 MB)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska", container_options={"live": "1"}) as out:
        stream = out.add_stream("libopus", rate=48000, options={"frame_duration": "60"})
        stream.layout = "mono"
        zero = np.zeros((1, OPUS_FRAME), np.int16)
        payload = b""
        for i in range(10):  # the encoder settles into its silent packet
            frame = av.AudioFrame.from_ndarray(zero, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, i * OPUS_FRAME
            payload = next((bytes(p) for p in stream.encode(frame)), payload)
        for i in range(int(seconds * 48000 / OPUS_FRAME)):
            packet = av.Packet(payload)
            packet.stream, packet.time_base = stream, Fraction(1, 48000)
            packet.pts = packet.dts = i * OPUS_FRAME
            packet.duration = OPUS_FRAME
            out.mux(packet)
    return buf.getvalue()


def flac(audio: np.ndarray, rate: int = 8000, claimed_samples: int | None = None) -> bytes:
    """Mono FLAC of float32 ``audio`` at ``rate``; ``claimed_samples`` rewrites the header's
    total-sample count (0: unknown; a small number: a header that lies about the length)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        step = rate * 10
        for start in range(0, audio.size, step):
            pcm = (np.clip(audio[start : start + step], -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    data = bytearray(buf.getvalue())
    if claimed_samples is not None:
        # STREAMINFO follows "fLaC" and its 4-byte block header; the total sample count is
        # the low 36 bits of the 8 bytes at offset 10 of the block.
        at = 4 + 4 + 10
        (packed,) = struct.unpack(">Q", data[at : at + 8])
        packed = (packed & ~((1 << 36) - 1)) | (claimed_samples & ((1 << 36) - 1))
        data[at : at + 8] = struct.pack(">Q", packed)
    return bytes(data)


def flac_silence(seconds: float, claimed_samples: int | None = None, rate: int = 8000) -> bytes:
    """Hours of FLAC silence are a few hundred KB (an hour at 8 kHz: about 0.7 MB)."""
    return flac(np.zeros(int(seconds * rate), np.float32), rate, claimed_samples)


def wav(
    channels: int = 1,
    rate: int = 16000,
    frames: int = 16000,
    bits: int = 16,
    claimed_bytes: int | None = None,
) -> bytes:
    """A PCM WAV of silence written by hand, so its header can say anything."""
    align = channels * bits // 8
    data = b"\0" * (frames * align)
    size = len(data) if claimed_bytes is None else claimed_bytes
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, bits)
    riff = struct.pack("<I", (36 + size) & 0xFFFFFFFF)
    return b"RIFF" + riff + b"WAVE" + b"fmt " + fmt + b"data" + struct.pack("<I", size) + data


def video_without_audio(seconds: float = 1.0) -> bytes:
    """A small Matroska video (MPEG-4 part 2 frames of grey) with no audio stream."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        grey = np.full((48, 64, 3), 128, np.uint8)
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def nut(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """Decodable audio in NUT, FFmpeg's own container: not an audio or video format that
    clients send, so not on the demuxer allow-list."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="nut") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        pcm = np.zeros((1, int(seconds * rate)), np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()
