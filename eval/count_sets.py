"""Clip sets for checking speaker counts on real voices, and each set's role.

* ``tune``: :func:`eval.real_data.conversations` (tune split): made-up conversations of
  2-4 real asterisk voices, 30 s each. The only set a count rule may be tuned on.
* ``single``: real single-voice clips that must come out as one speaker: each asterisk
  voice's prompts joined into about 30 s (tune and report splits, so 8 clips) and the
  pocketsphinx-testdata LibriVox reader (five read sentences joined, about 26 s).
* ``report``: the pyannote.audio telephone sample and the VoxConverse ``aepyx`` broadcast
  cut into 30 s pieces (from 0 s and from 15 s): the 12 short clips of ``make bench-real``'s
  counts table. Reported, never tuned on.

``python -m eval.count_sets [--sets tune single report] [--bare]`` prints, for every clip,
the reference count, ours and (``--bare``) bare pyannote's, and DER; speakers count with
at least :data:`COUNT_MIN_S` of speech on both sides.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eval import real_data
from eval.real_data import RealFile

COUNT_MIN_S = 2.0
PIECE_S = 30.0


def librivox_reader(cache: Path = real_data.DEFAULT_CACHE) -> RealFile:
    """The pocketsphinx-testdata LibriVox reader's five sentences, joined with pauses."""
    from eval.speaker_id import _pocketsphinx_root

    folder = _pocketsphinx_root(cache) / "librivox"
    pause = np.zeros(int(real_data.PAUSE_S * real_data.SR), dtype=np.float32)
    audio: list[np.ndarray] = []
    for wav in sorted(folder.glob("*.wav")):
        audio += [real_data.read_wav(wav), pause]
    x = np.concatenate(audio)
    return RealFile(
        "librivox-reader",
        x,
        turns=[(0.0, len(x) / real_data.SR, "reader")],
        source="Debian pocketsphinx-testdata",
    )


def single_voice(cache: Path = real_data.DEFAULT_CACHE) -> list[RealFile]:
    out = []
    for language in real_data.LANGUAGES:
        for split in ("tune", "report"):
            f = real_data.asterisk_file(language, split, PIECE_S, cache)
            f.turns = [(0.0, f.duration, f"asterisk-{language}")]
            out.append(f)
    return [*out, librivox_reader(cache)]


def report_clips(cache: Path = real_data.DEFAULT_CACHE) -> list[RealFile]:
    broadcast = real_data.aepyx(cache)
    return [
        real_data.pyannote_sample(),
        *real_data.pieces(broadcast, PIECE_S),
        *real_data.pieces(broadcast, PIECE_S, offset_s=PIECE_S / 2),
    ]


def clip_set(name: str, cache: Path = real_data.DEFAULT_CACHE) -> list[RealFile]:
    if name == "tune":
        return real_data.conversations("tune", 12, PIECE_S, cache=cache)
    if name == "single":
        return single_voice(cache)
    if name == "report":
        return report_clips(cache)
    raise ValueError(f"unknown clip set {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from eval import real_pipeline
    from eval.real_speech import der, speaker_count
    from serve_app.config import load_config
    from serve_app.diarization.pipeline import PyannoteDiarizer

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sets", nargs="*", default=["tune", "single", "report"])
    p.add_argument("--bare", action="store_true", help="also bare pyannote")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", default="configs/local-cpu.yaml")
    args = p.parse_args(argv)
    config = load_config({"config": args.config})
    diarizer = PyannoteDiarizer(**dict(config.diarizer.tuning))
    stock = real_pipeline.build_bare_diarization(args.threads) if args.bare else None
    for set_name in args.sets:
        right = {"ours": 0, "bare": 0}
        files = clip_set(set_name)
        for f in files:
            t0 = time.perf_counter()
            ours = real_pipeline.ours_diarize(config, diarizer, f.audio)
            line = (
                f"{set_name:7} {f.name:26} ref={speaker_count(f.turns, COUNT_MIN_S)} "
                f"ours={speaker_count(ours.turns, COUNT_MIN_S)} "
                f"DER={der(f.turns, ours.turns).der:.3f}"
            )
            right["ours"] += speaker_count(ours.turns, COUNT_MIN_S) == speaker_count(
                f.turns, COUNT_MIN_S
            )
            if stock is not None:
                torch.set_num_threads(args.threads)
                b = real_pipeline.bare_diarize(stock, f.audio)
                n = speaker_count(b.turns, COUNT_MIN_S)
                right["bare"] += n == speaker_count(f.turns, COUNT_MIN_S)
                line += f" | bare={n} DER={der(f.turns, b.turns).der:.3f}"
            print(f"{line} ({time.perf_counter() - t0:.1f}s)", flush=True)
        print(f"{set_name}: counts right ours {right['ours']}/{len(files)}", end="")
        print(f", bare {right['bare']}/{len(files)}" if stock is not None else "", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
