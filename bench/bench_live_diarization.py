"""What diarization costs a job, live: the same file with ``diarize=false`` and ``=true``.

    .venv/bin/python bench/bench_live_diarization.py                 # 4 min, 3 espeak voices
    .venv/bin/python bench/bench_live_diarization.py talk.mp3 --rounds 3

Starts the graph of ``configs/local-cpu.yaml`` (LLM off) on a local Ray (loopback), warms it
up with one job of each kind, then runs ``--rounds`` alternating pairs. For each job it
follows the WebSocket from the moment of upload and records when the first segment arrived,
when the first speaker appeared, how many revision events came, and when the job ended.
Prints the medians and the ratios diarized / plain, and checks that applying every event
gives the ``/result`` transcript; the table is written to ``bench/results/live_diarization.json``
(bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import websockets

from bench.graph_common import add_graph_args, graph_config
from bench.report import command_line, table, write_results
from serve_app.client.api import local_headers
from serve_app.client.transcript import apply_events
from serve_app.launch import local_app


def conversation_file(minutes: float) -> Path:
    """A synthesised 3-speaker conversation (the test voices), as mp3."""
    from eval.conversations import make_conversation
    from eval.speech import encode

    path = Path(tempfile.gettempdir()) / f"bench_dialog_{minutes:g}min.mp3"
    if not path.exists():
        audio, _ = make_conversation(3, duration=minutes * 60, seed=11)
        path.write_bytes(encode(audio, "mp3"))
    return path


async def one_job(url: str, data: bytes, name: str, diarize: bool) -> dict[str, Any]:
    # make run's anonymous mode: the local admin key, so the live stream sees the job
    headers = local_headers(url)
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as http:
        started = time.perf_counter()
        response = await http.post(
            "/api/transcribe/",
            files={"file": (name, data)},
            data={"diarize": str(diarize).lower()},
        )
        response.raise_for_status()
        job_id = response.json()["job_id"]
        events: list[dict[str, Any]] = []
        first_segment = first_speaker = None
        ws_url = url.replace("http://", "ws://") + f"/api/transcribe/live/{job_id}"
        async with websockets.connect(ws_url, max_size=None, additional_headers=headers) as ws:
            async for raw in ws:
                event = json.loads(raw)
                now = time.perf_counter() - started
                events.append(event)
                if event["type"] == "segment" and first_segment is None:
                    first_segment = now
                speakers = [event] if event["type"] == "segment" else event.get("segments", [])
                if first_speaker is None and any(s.get("speaker") for s in speakers):
                    first_speaker = now
                if event["type"] == "status" and event["status"] != "processing":
                    break
        total = time.perf_counter() - started
        result = (await http.get(f"/api/transcribe/result/{job_id}")).json()
    return {
        "first_segment_s": first_segment,
        "first_speaker_s": first_speaker,
        "total_s": total,
        "revisions": sum(e["type"] == "revision" for e in events),
        "consistent": apply_events(events) == result["segments"],
        "speakers": sorted({s["speaker"] for s in result["segments"] if s["speaker"]}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_graph_args(parser, minutes=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--name", default="live_diarization", help="results name")
    args = parser.parse_args()
    path = args.audio or conversation_file(args.synth_minutes)
    data = path.read_bytes()
    config = graph_config(args)
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with local_app(config) as url:
        for diarize in (False, True):  # warm-up: models loaded, Serve's controller settled
            asyncio.run(one_job(url, data, path.name, diarize))
        time.sleep(10)
        for _ in range(args.rounds):
            for diarize in (False, True):
                run = asyncio.run(one_job(url, data, path.name, diarize))
                runs[diarize].append(run)
                print(("diarize " if diarize else "plain   ") + json.dumps(run), flush=True)

    def median(diarize: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs[diarize] if r[key] is not None)

    plain_first, plain_total = median(False, "first_segment_s"), median(False, "total_s")
    diar_first, diar_total = median(True, "first_segment_s"), median(True, "total_s")
    diar_speaker = median(True, "first_speaker_s")
    consistent = all(r["consistent"] for r in runs[True])
    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                f"Live diarization cost, medians of {args.rounds} round(s)",
                ["measure", "plain", "diarized", "diarized / plain"],
                [
                    [
                        "first segment s",
                        round(plain_first, 2),
                        round(diar_first, 2),
                        round(diar_first / plain_first, 2),
                    ],
                    ["first speaker s", None, round(diar_speaker, 2), None],
                    [
                        "job total s",
                        round(plain_total, 2),
                        round(diar_total, 2),
                        round(diar_total / plain_total, 2),
                    ],
                    ["revision events per job", None, median(True, "revisions"), None],
                ],
                caption=f"Audio {path.name}; events applied == /result: {consistent}.",
            )
        ],
        notes=f"{args.config}, LLM off.",
    )


if __name__ == "__main__":
    main()
