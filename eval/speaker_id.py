"""Known-speaker calibration set: real recorded voices, enrolment kept apart from tests.

Every voice comes from a real recording (see :mod:`eval.real_data` for how each is fetched):

* **asterisk-en/fr/it/ru**: one professional voice per language, hundreds of telephone
  prompts (8 kHz). Prompts are grouped by *family* (the name before the first ``-``, e.g.
  ``conf-``, ``vm-``, ``queue-``), the way the sets were recorded in sessions. Families are
  shuffled with a fixed seed; the first ones fill the *enrol* part (about
  :data:`ENROL_S` seconds), the rest alternate between the *tune* and *report* parts, so
  enrolment, tuning and reporting never share a prompt family.
* **aepyx-spk00..03**: the VoxConverse broadcast clip, each speaker's speech outside overlap
  (reference RTTM). The first :data:`ENROL_SHARE` of a speaker's speech (in time) is the
  enrolment, later turns alternate tune/report.
* **sample-speaker90/91**: the pyannote.audio two-speaker telephone clip, the same way.
* **unknown voices** (never enrolled): Debian ``pocketsphinx-testdata``: a LibriVox reader
  (*tune*) and the ``cards`` and raw test utterances (*report*).

A test *utterance* is one prompt or turn (cut to at most :data:`MAX_UTTERANCE_S`); a test
*speaker-in-a-job* pools consecutive utterances of one part up to :data:`POOL_S` seconds,
the way a job's diarized speaker pools its windows. Tests run in recording conditions of
:mod:`eval.conditions` (clean, telephone band, noise); enrolment is always the clean
recording. Embeddings are CAM++ from the diarizer (:mod:`serve_app.diarization.embedding`),
cached per (utterance, condition) under ``var/eval-data/speaker_id``.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval import real_data
from eval.conditions import CONDITIONS, apply_channel

SR = real_data.SR
ENROL_S = 60.0
"""Seconds of enrolment speech per asterisk voice (a few minutes of prompts exist)."""
ENROL_SHARE = 0.35
"""Share of a broadcast/telephone speaker's speech (the earliest) used for enrolment."""
MAX_UTTERANCE_S = 10.0
"""Longer turns are cut into pieces of this length (the diarizer's window)."""
MIN_UTTERANCE_S = 1.0
TURN_PIECE_S = 4.0
"""Turns of the broadcast and telephone recordings are cut into pieces of this length, so
that speakers with little speech still have test pieces in both parts."""
POOL_S = 15.0
"""A speaker-in-a-job pools this many seconds of test utterances."""
PER_PART = 12
"""At most this many test utterances per asterisk voice and part (tune, report)."""
TEST_CONDITIONS = ("clean", "telephone", "noise10", "telephone-noise")
PARTS = ("enrol", "tune", "report")


@dataclass
class Utterance:
    """One stretch of one voice's speech."""

    uid: str
    speaker: str
    part: str
    """``enrol``, ``tune`` or ``report``"""
    audio: np.ndarray
    enrolled: bool = True
    """False: an unknown voice, never in the registry (an impostor only)"""

    @property
    def seconds(self) -> float:
        return len(self.audio) / SR


def _cut(
    uid: str,
    speaker: str,
    part: str,
    audio: np.ndarray,
    max_s: float = MAX_UTTERANCE_S,
    enrolled: bool = True,
) -> list[Utterance]:
    step = int(max_s * SR)
    out = []
    for k, start in enumerate(range(0, len(audio), step)):
        piece = audio[start : start + step]
        if len(piece) >= MIN_UTTERANCE_S * SR:
            out.append(Utterance(f"{uid}#{k}", speaker, part, piece, enrolled))
    return out


def asterisk_utterances(language: str, cache: Path = real_data.DEFAULT_CACHE) -> list[Utterance]:
    speaker = f"asterisk-{language}"
    families: dict[str, list[Path]] = {}
    for wav, _ in real_data.asterisk_prompts(language, cache):
        families.setdefault(wav.stem.split("-")[0], []).append(wav)
    order = sorted(families)
    np.random.default_rng(7).shuffle(order)
    out: list[Utterance] = []
    enrolled = 0.0
    counts = {"tune": 0, "report": 0}
    test_family = 0
    for family in order:
        if enrolled < ENROL_S:
            part = "enrol"
        else:
            part = ("tune", "report")[test_family % 2]
            test_family += 1
        for wav in families[family]:
            # the rest of a family that filled the enrolment is used nowhere
            full = enrolled >= ENROL_S if part == "enrol" else counts[part] >= PER_PART
            if full:
                break
            pieces = _cut(f"{speaker}/{wav.stem}", speaker, part, real_data.read_wav(wav))
            out += pieces
            if part == "enrol":
                enrolled += sum(p.seconds for p in pieces)
            else:
                counts[part] += len(pieces)
    return out


def _exclusive(turns: list[tuple[float, float, str]], who: str) -> list[tuple[float, float]]:
    """``who``'s turns minus any time another speaker talks."""
    spans: list[tuple[float, float]] = []
    others = [(s, e) for s, e, k in turns if k != who]
    for s, e, k in sorted(turns):
        if k != who:
            continue
        pieces = [(s, e)]
        for os_, oe in others:
            pieces = [
                q for a, b in pieces for q in ((a, min(b, os_)), (max(a, oe), b)) if q[1] > q[0]
            ]
        spans += [p for p in pieces if p[1] - p[0] >= MIN_UTTERANCE_S]
    return spans


def recording_utterances(f: real_data.RealFile, prefix: str) -> list[Utterance]:
    """Each reference speaker of ``f``, cut into pieces of at most :data:`TURN_PIECE_S`:
    the earliest :data:`ENROL_SHARE` of the speech is the enrolment, later pieces alternate
    tune/report."""
    out: list[Utterance] = []
    for who in sorted({k for _, _, k in f.turns}):
        speaker = f"{prefix}-{who}"
        turns: list[Utterance] = []
        for s, e in _exclusive(f.turns, who):
            audio = f.audio[int(s * SR) : int(e * SR)]
            turns += _cut(f"{speaker}/{s:.2f}", speaker, "", audio, TURN_PIECE_S)
        total = sum(u.seconds for u in turns)
        done = 0.0
        tests = 0
        for u in turns:
            if done < ENROL_SHARE * total:
                u.part = "enrol"
            else:
                u.part = ("tune", "report")[tests % 2]
                tests += 1
            done += u.seconds
        out += turns
    return out


def _pocketsphinx_root(cache: Path) -> Path:
    root = cache / "pocketsphinx"
    data = root / "usr/share/pocketsphinx/test/data"
    if not data.exists():
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        if not list(debs.glob("pocketsphinx-testdata_*.deb")):
            subprocess.run(["apt-get", "download", "pocketsphinx-testdata"], cwd=debs, check=True)
        deb = sorted(debs.glob("pocketsphinx-testdata_*.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return data


def unknown_utterances(cache: Path = real_data.DEFAULT_CACHE) -> list[Utterance]:
    """Voices never enrolled: the LibriVox reader (tune), cards and raw clips (report)."""
    data = _pocketsphinx_root(cache)
    out: list[Utterance] = []
    for wav in sorted((data / "librivox").glob("*.wav")):
        audio = real_data.read_wav(wav)
        out += _cut(f"librivox/{wav.stem}", "unknown-librivox", "tune", audio, enrolled=False)
    for wav in sorted((data / "cards").glob("*.wav")):
        audio = real_data.read_wav(wav)
        out += _cut(f"cards/{wav.stem}", "unknown-cards", "report", audio, enrolled=False)
    for raw in sorted(data.glob("*.raw")):  # 16 kHz 16-bit mono, no header
        audio = np.fromfile(raw, dtype="<i2").astype(np.float32) / 32768.0
        out += _cut(f"raw/{raw.stem}", f"unknown-{raw.stem}", "report", audio, enrolled=False)
    return out


def corpus(cache: Path = real_data.DEFAULT_CACHE) -> list[Utterance]:
    """Every utterance of every voice, enrolment and tests."""
    out: list[Utterance] = []
    for language in real_data.LANGUAGES:
        out += asterisk_utterances(language, cache)
    out += recording_utterances(real_data.aepyx(cache), "aepyx")
    out += recording_utterances(real_data.pyannote_sample(), "sample")
    out += unknown_utterances(cache)
    return out


def _seed(uid: str) -> int:
    return int.from_bytes(hashlib.sha1(uid.encode()).digest()[:4], "little")


def in_condition(u: Utterance, condition: str) -> np.ndarray:
    """The utterance as recorded through ``condition`` (seeded by its id)."""
    if condition == "clean":
        return u.audio
    return apply_channel(u.audio, CONDITIONS[condition], _seed(u.uid))


@dataclass
class Pieces:
    """An utterance as the server sees speech: its speech pieces (silero VAD spans cut by
    :func:`serve_app.speakers.voiceprint.speech_pieces`), one embedding per piece."""

    vectors: np.ndarray  # (pieces, D), L2-normalised
    seconds: np.ndarray  # (pieces,)


class Embedder:
    """The server's voiceprint path on the diarizer's embedding model, cached on disk.

    An utterance's speech (silero VAD, as the server finds it in an enrolment clip) is cut
    into pieces by the server's ``speech_pieces`` and embedded the way ``voiceprint()``
    embeds them, with pyannote's embedding inference around CAM++ (``pipeline._embedding``
    in the diarizer); piece embeddings are kept, so that a pool of utterances is the same
    duration-weighted mean (:func:`pooled`), and checked once per run against
    ``voiceprint()`` itself."""

    def __init__(self, cache_dir: Path, threads: int = 2) -> None:
        import torch
        from pyannote.audio.pipelines.speaker_verification import PretrainedSpeakerEmbedding

        from serve_app.diarization.embedding import campplus_classes, default_campplus_path

        torch.set_num_threads(threads)
        checkpoint = default_campplus_path()
        model = campplus_classes()["CAMPPlusEmbedding"](checkpoint)
        self.inference = PretrainedSpeakerEmbedding(model)
        self.path = cache_dir / f"pieces-{Path(checkpoint).stem}.npz"
        self.cache: dict[str, Pieces] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                for k in z.files:
                    if k.endswith("|v"):
                        self.cache[k[:-2]] = Pieces(z[k], z[k[:-2] + "|w"])
        self.computed = 0
        self.checked = False
        """Set once the first new utterance was compared with ``voiceprint()``."""

    def _spans(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """The pieces the server embeds: silero VAD speech, cut by ``speech_pieces``."""
        from serve_app.audio.vad import detect_speech
        from serve_app.config import VadConfig
        from serve_app.speakers.voiceprint import speech_pieces

        spans = [(a / SR, b / SR) for a, b in detect_speech(audio, VadConfig(), 30.0)]
        return speech_pieces(spans, 1e9, len(audio) / SR)

    def _check(self, audio: np.ndarray, got: Pieces) -> None:
        """Once per run: the pooled pieces are what the server's ``voiceprint()`` returns."""
        from serve_app.audio.vad import detect_speech
        from serve_app.config import VadConfig
        from serve_app.speakers.voiceprint import voiceprint

        spans = [(a / SR, b / SR) for a, b in detect_speech(audio, VadConfig(), 30.0)]
        vector, _ = voiceprint(self.inference, audio, spans, max_s=1e9)
        assert np.allclose(pooled([got]), vector, atol=1e-4), "pooled() != voiceprint()"
        self.checked = True

    def embed(
        self, items: Iterable[tuple[str, Callable[[], np.ndarray]]], batch: int = 16
    ) -> dict[str, Pieces]:
        """{key: pieces} for (key, audio loader) pairs; only uncached keys are loaded. Pieces
        of several utterances share a batch (as in ``voiceprint()``: 3 s wide, masked)."""
        import torch

        from serve_app.speakers.voiceprint import PIECE_S

        todo = [(k, load) for k, load in items if k not in self.cache]
        width = round(PIECE_S * SR)
        for g in range(0, len(todo), batch):
            group = [(k, load()) for k, load in todo[g : g + batch]]
            owners, waves, masks, seconds = [], [], [], []
            for n, (_, audio) in enumerate(group):
                for start, end in self._spans(audio):
                    piece = audio[round(start * SR) : round(end * SR)][:width]
                    wave, mask = np.zeros(width, np.float32), np.zeros(width, np.float32)
                    wave[: len(piece)], mask[: len(piece)] = piece, 1.0
                    owners.append(n)
                    waves.append(wave)
                    masks.append(mask)
                    seconds.append(end - start)
            rows = [np.zeros((0, 192))]
            for b in range(0, len(waves), batch):
                w = torch.from_numpy(np.stack(waves[b : b + batch])[:, None])
                m = torch.from_numpy(np.stack(masks[b : b + batch]))
                rows.append(np.asarray(self.inference(w, masks=m)))
            emb = np.concatenate(rows)
            ok = np.all(np.isfinite(emb), axis=1)
            emb[ok] /= np.linalg.norm(emb[ok], axis=1, keepdims=True)
            who, secs = np.asarray(owners), np.asarray(seconds, np.float32)
            for n, (k, audio) in enumerate(group):
                sel = (who == n) & ok if len(who) else np.zeros(0, bool)
                self.cache[k] = Pieces(emb[sel].astype(np.float32), secs[sel])
                if not self.checked and len(self.cache[k].seconds):
                    self._check(audio, self.cache[k])
            self.computed += len(group)
            if (g // batch) % 2 == 1:  # a killed run keeps what it computed
                self.save()
                print(f"embedded {self.computed}/{len(todo)}", flush=True)
        if todo:
            self.save()
        return self.cache

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for k, p in self.cache.items():
            arrays[k + "|v"], arrays[k + "|w"] = p.vectors, p.seconds
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(self.path)


def pooled(parts: Iterable[Pieces]) -> np.ndarray:
    """The voiceprint of several utterances' speech: the L2-normalised, duration-weighted
    mean of their piece embeddings (what ``voiceprint()`` computes over their spans)."""
    items = [p for p in parts if len(p.seconds)]
    if not items:
        return np.zeros(0, np.float32)
    vectors = np.concatenate([p.vectors for p in items]).astype(np.float64)
    mean = np.average(vectors, axis=0, weights=np.concatenate([p.seconds for p in items]))
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def key(u: Utterance, condition: str) -> str:
    return f"{u.uid}|{condition}"


def pools(utterances: list[Utterance], seconds: float = POOL_S) -> list[list[Utterance]]:
    """Consecutive utterances of one speaker and part, grouped to about ``seconds``."""
    out: list[list[Utterance]] = []
    current: list[Utterance] = []
    for u in utterances:
        if current and (u.speaker != current[-1].speaker or u.part != current[-1].part):
            out.append(current)
            current = []
        current.append(u)
        if sum(x.seconds for x in current) >= seconds:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


@dataclass
class Trial:
    """One test sample scored against the whole registry (cosine similarity)."""

    speaker: str
    condition: str
    unit: str
    """``utterance`` or ``speaker-in-a-job``"""
    scores: np.ndarray
    """one score per enrolled person, in the registry's order"""


@dataclass
class Rates:
    """Error rates at one threshold.

    * ``far``: impostor pairs (a test sample against a voiceprint of somebody else)
      scoring at or above the threshold, over all impostor pairs;
    * ``frr``: target pairs (a sample against its own speaker's voiceprint) below it;
    * ``accuracy``: samples of enrolled speakers whose best voice is their own and scores
      at or above the threshold (named correctly);
    * ``wrong_name``: samples of enrolled speakers given somebody else's name;
    * ``unknown_accepted``: samples of voices that are not in the registry (never-enrolled
      voices, and each enrolled voice with its own voiceprint left out) given a name.
    """

    far: float
    frr: float
    accuracy: float
    wrong_name: float
    unknown_accepted: float
    impostor_pairs: int
    target_pairs: int
    samples: int
    unknown_samples: int


def rates(trials: list[Trial], names: list[str], threshold: float) -> Rates:
    index = {n: i for i, n in enumerate(names)}
    imp_total = imp_accept = tgt_total = tgt_reject = 0
    samples = correct = wrong = unknown = unknown_named = 0
    for t in trials:
        own = index.get(t.speaker)
        others = t.scores if own is None else np.delete(t.scores, own)
        imp_total += len(others)
        imp_accept += int((others >= threshold).sum())
        # open set: the sample's voice is not in the registry (left out when enrolled)
        unknown += 1
        unknown_named += int(others.max() >= threshold)
        if own is None:
            continue
        tgt_total += 1
        tgt_reject += int(t.scores[own] < threshold)
        samples += 1
        best = int(np.argmax(t.scores))
        named = t.scores[best] >= threshold
        correct += int(named and best == own)
        wrong += int(named and best != own)
    return Rates(
        far=imp_accept / max(imp_total, 1),
        frr=tgt_reject / max(tgt_total, 1),
        accuracy=correct / max(samples, 1),
        wrong_name=wrong / max(samples, 1),
        unknown_accepted=unknown_named / max(unknown, 1),
        impostor_pairs=imp_total,
        target_pairs=tgt_total,
        samples=samples,
        unknown_samples=unknown,
    )


def choose_threshold(
    trials: list[Trial], names: list[str], max_far: float, grid: Iterable[float] | None = None
) -> float:
    """The lowest threshold (fewest false rejects) whose pair FAR and open-set
    unknown-accepted rate on ``trials`` both stay at or below ``max_far``."""
    steps = np.round(np.arange(0.0, 1.0, 0.005), 3) if grid is None else grid
    for th in steps:
        r = rates(trials, names, float(th))
        if r.far <= max_far and r.unknown_accepted <= max_far:
            return float(th)
    return 1.0
