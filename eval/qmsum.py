"""QMSum meetings as transcripts, their reference summaries, and the scores of a summary.

QMSum (https://github.com/Yale-LILY/QMSum, MIT licence; AMI and ICSI meetings, CC BY 4.0,
and Welsh/Canadian parliamentary committees) gives each meeting's turns (speaker, text),
a reference summary of the whole meeting (the general query "Summarize the whole
meeting."), and specific queries with reference answers. Splits: ``train`` and ``val``
to develop on; ``test`` to report, never to tune on.

The data is read from a clone of the repository: a working tree, or a bare mirror (read
with ``git show``); ``QMSUM_REPO`` says where (default: ``var/QMSum``, then the mirror
under ``/work/.mirror``). QMSum has no times: each turn is given 0.4 s a word (at least
1 s), so the first N minutes of a meeting are its first turns of about 150 words a
minute, as people speak.

What was tuned on what (keep it so): the notes prompt and schema (a topic and two points
per window, text before evidence, lines numbered from 1), the evidence check (speaker
label words ignored, a named speaker must say a cited line; ``SUPPORT_CUTOFF`` 0.34 and
an item its cited lines do not back may be anchored to the one line next to a cited one
that does and is said by the speaker it names, ``checks.NEIGHBOURS`` 1) were fitted on
``val`` ES2006b, first 5 and 10 minutes, only (``bench/llm_tune.py``: schema order and
evidence-first variants, no gain kept). The figures reported in ``docs/evaluation.md``
come from ``test`` meetings (ES2004a, IS1003b, TS3004a, first 20 minutes), run once after that.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")
SECONDS_PER_WORD = 0.4
_MARK = re.compile(r"\{\w+\}")
_SPACE_BEFORE = re.compile(r"\s+([,.?!;:])")


def repo_dir() -> Path:
    """Where QMSum is: ``QMSUM_REPO``, else ``var/QMSum``, else the local mirror."""
    env = os.environ.get("QMSUM_REPO")
    candidates = [Path(env)] if env else []
    candidates += [Path("var/QMSum"), Path("/work/.mirror/Yale-LILY+QMSum/repo")]
    for path in candidates:
        if (path / "data").is_dir() or (path / "HEAD").is_file():
            return path
    raise FileNotFoundError(
        "QMSum not found: git clone https://github.com/Yale-LILY/QMSum var/QMSum "
        "(or set QMSUM_REPO)"
    )


def _read(rel: str) -> str:
    repo = repo_dir()
    if (repo / "data").is_dir():
        return (repo / rel).read_text(encoding="utf-8")
    out = subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{rel}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def meeting_names(split: str) -> list[str]:
    """The meetings of a split, by name (``ES2004a``...), sorted."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    repo = repo_dir()
    rel = f"data/ALL/{split}"
    if (repo / "data").is_dir():
        names = [p.stem for p in (repo / rel).glob("*.json")]
    else:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-tree", "--name-only", f"HEAD:{rel}"],
            check=True,
            capture_output=True,
            text=True,
        )
        names = [n.removesuffix(".json") for n in out.stdout.split()]
    return sorted(names)


def clean(text: str) -> str:
    """A turn without QMSum's ``{vocalsound}``/``{disfmarker}``/``{gap}`` marks, with
    the space before punctuation closed."""
    text = _SPACE_BEFORE.sub(r"\1", _MARK.sub(" ", text))
    return " ".join(text.split())


@dataclass
class Meeting:
    name: str
    split: str
    segments: list[dict[str, Any]]
    """``{start, end, speaker, text}`` per turn with words (synthetic times)."""
    reference: str
    """The reference summary of the whole meeting."""
    queries: list[dict[str, str]] = field(default_factory=list)
    """Specific queries: ``{query, answer}``."""
    spans: list[list[tuple[int, int]]] = field(default_factory=list)
    """Each query's relevant turns (QMSum's ``relevant_text_span``: first and last turn
    index of the whole meeting, inclusive)."""
    turns: int = 0
    """Turns of the whole meeting before the cut (kept or skipped as empty)."""

    @property
    def queries_in_cut(self) -> list[dict[str, str]]:
        """The specific queries whose relevant turns all lie before the cut (a query about
        the part of the meeting cut off cannot be answered from the transcript given)."""
        return [
            q
            for q, span in zip(self.queries, self.spans, strict=True)
            if span and all(end < self.turns for _, end in span)
        ]

    @property
    def minutes(self) -> float:
        return self.segments[-1]["end"] / 60 if self.segments else 0.0


def load(split: str, name: str, max_minutes: float | None = None) -> Meeting:
    """One meeting, cut after ``max_minutes`` of (synthetic) time when given."""
    raw = json.loads(_read(f"data/ALL/{split}/{name}.json"))
    segments: list[dict[str, Any]] = []
    t = 0.0
    turns = 0
    for turns, turn in enumerate(raw["meeting_transcripts"], start=1):
        text = clean(turn["content"])
        if not any(c.isalnum() for c in text):
            continue
        length = max(1.0, SECONDS_PER_WORD * len(text.split()))
        if max_minutes is not None and t + length > max_minutes * 60:
            turns -= 1
            break
        segments.append(
            {"start": round(t, 2), "end": round(t + length, 2), "speaker": turn["speaker"],
             "text": text}
        )  # fmt: skip
        t += length + 0.2
    general = raw.get("general_query_list") or [{}]
    specific = raw.get("specific_query_list", [])
    return Meeting(
        name=name,
        split=split,
        segments=segments,
        reference=clean(general[0].get("answer", "")),
        queries=[{"query": q["query"], "answer": clean(q["answer"])} for q in specific],
        spans=[[(int(a), int(b)) for a, b in q.get("relevant_text_span") or []] for q in specific],
        turns=turns,
    )


def first_words(segments: list[dict[str, Any]], n: int = 200) -> str:
    """The baseline "summary": the transcript's first ``n`` words."""
    words: list[str] = []
    for s in segments:
        words += s["text"].split()
        if len(words) >= n:
            break
    return " ".join(words[:n])


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1/2/L F1 (x100, stemmed; rouge-score's ``rougeLsum`` over lines as
    sentences) of ``prediction`` against ``reference``."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    pred = "\n".join(line.lstrip("-0123456789. ").strip() for line in prediction.splitlines())
    scores = scorer.score(reference, pred)
    return {
        "rouge1": round(100 * scores["rouge1"].fmeasure, 1),
        "rouge2": round(100 * scores["rouge2"].fmeasure, 1),
        "rougeL": round(100 * scores["rougeLsum"].fmeasure, 1),
    }
