"""``transcribe``: submit audio, follow it live, fetch results, summarise and chat.

The server is ``--base-url`` (or ``TRANSCRIBE_URL``, default http://127.0.0.1:8000);
``--api-key`` (or ``TRANSCRIBE_API_KEY``) is sent as a bearer token when set; without one,
a server on this machine gets the local admin key ``make run`` keeps in ``var/local-key``
(or ``TRANSCRIBE_LOCAL_KEY_FILE``).
Errors print one line to stderr and exit with status 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from serve_app.client.api import ApiError, TranscribeClient, local_key
from serve_app.client.config_check import config_app
from serve_app.client.convert import convert
from serve_app.client.transcript import LiveTranscript

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(config_app, name="config")
app.command("convert")(convert)
out = Console()
err = Console(stderr=True)


class State:
    client: TranscribeClient
    api_key: str | None = None


state = State()


@app.callback()
def main(
    base_url: Annotated[
        str, typer.Option(envvar="TRANSCRIBE_URL", help="Server URL")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="TRANSCRIBE_API_KEY", help="Bearer token")
    ] = None,
) -> None:
    state.api_key = api_key or local_key(base_url)
    state.client = TranscribeClient(base_url, state.api_key)


def _fail(message: str) -> None:
    err.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(1)


def _segment_line(seg: dict[str, Any]) -> str:
    speaker = f"{seg['speaker']}: " if seg.get("speaker") else ""
    return f"[{seg['start_display']} -> {seg['end_display']}] {speaker}{seg['text']}"


@app.command()
def models() -> None:
    """List the ASR models and whether they are present on the server."""
    try:
        entries = state.client.models()
    except ApiError as exc:
        _fail(str(exc))
    table = Table("name", "present", "size MB", "description")
    for m in entries:
        table.add_row(
            m["name"],
            "yes" if m["is_downloaded"] else "no",
            f"{m['size_mb']:.0f}",
            m["description"],
        )
    out.print(table)


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[str | None, typer.Option(help="Model name (server default)")] = None,
    language: Annotated[str | None, typer.Option(help="ISO 639-1 code")] = None,
    diarize: Annotated[bool, typer.Option(help="Label speakers")] = True,
    follow: Annotated[bool, typer.Option(help="Show progress and segments live")] = False,
) -> None:
    """Upload FILE; prints the job id (and, with --follow, the transcript as it comes)."""
    try:
        job = state.client.submit(file, model, language, diarize)
        if not follow:
            out.print(job["job_id"])
            return
        err.print(f"job {job['job_id']}", highlight=False)
        final = _follow(job["job_id"])
    except ApiError as exc:
        _fail(str(exc))
    if final.get("status") != "completed":
        _fail(f"job {job['job_id']} {final.get('status')}: {final.get('message')}")


@app.command()
def stream(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    realtime: Annotated[
        bool, typer.Option(help="Send the audio at real speed through the realtime WebSocket")
    ] = False,
    model: Annotated[str | None, typer.Option(help="Model name (server default)")] = None,
    language: Annotated[str | None, typer.Option(help="ISO 639-1 code")] = None,
    diarize: Annotated[bool, typer.Option(help="Label speakers")] = True,
    speed: Annotated[float, typer.Option(hidden=True, min=0.1, max=20)] = 1.0,
) -> None:
    """Transcribe FILE and show the transcript as it comes. With --realtime the audio is
    streamed as it plays (partial lines greyed, completed lines with speakers) and the job
    id it was saved as is printed last; without, FILE is uploaded and followed live."""
    if not realtime:
        submit(file, model, language, diarize, follow=True)
        return
    from serve_app.client.realtime import RealtimeError
    from serve_app.client.realtime_view import stream_file

    try:
        run = stream_file(
            state.client.base_url,
            state.api_key,
            file,
            out,
            err,
            model=model,
            language=language,
            speed=speed,
        )
    except RealtimeError as exc:
        _fail(str(exc))
    out.print(run.transcript.job_id, highlight=False)
    if run.closed_reason:
        _fail(run.closed_reason)


LIVE_LINES = 20
"""--follow on a terminal: the last this many segments, redrawn as revisions arrive."""


def _follow(job_id: str) -> dict[str, Any]:
    """Show the job live: the transcript's tail with revisions applied in place (speakers
    appear and settle), and the progress; then print the whole transcript to stdout."""
    final: dict[str, Any] = {}
    transcript = LiveTranscript()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    task = progress.add_task("starting", total=100)
    changed: set[str] = set()

    def view() -> Group:
        lines = [
            Text(("* " if s["id"] in changed else "  ") + _segment_line(s))
            for s in transcript.segments[-LIVE_LINES:]
        ]
        return Group(*lines, progress)

    # Not a terminal (a log, a pipe): each segment and each revised one as a line instead.
    with Live(view(), console=err, transient=True, auto_refresh=err.is_terminal) as live:
        for message in state.client.follow(job_id):
            if message["type"] in ("segment", "revision"):
                # "*" marks what the last event added or revised
                changed = transcript.apply(message)
                if not err.is_terminal:
                    for segment in transcript.segments:
                        if segment["id"] in changed:
                            mark = "revised " if message["type"] == "revision" else ""
                            err.print(mark + _segment_line(segment), highlight=False, markup=False)
            elif message["type"] == "status":
                progress.update(
                    task, completed=message["progress"], description=message["message"][:60]
                )
                final = message
            if err.is_terminal:
                live.update(view())
    for segment in transcript.segments:
        out.print(_segment_line(segment), highlight=False, markup=False, soft_wrap=True)
    return final


@app.command()
def status(job_id: str) -> None:
    """Status of a job."""
    try:
        s = state.client.status(job_id)
    except ApiError as exc:
        _fail(str(exc))
    out.print(f"{s['status']}  {s['progress']:.0f}%  {s['message']}", highlight=False)


@app.command()
def jobs() -> None:
    """Jobs on the server."""
    try:
        entries = state.client.jobs()
    except ApiError as exc:
        _fail(str(exc))
    table = Table("job_id", "status", "progress", "updated", "message")
    for j in entries:
        table.add_row(
            j["job_id"], j["status"], f"{j['progress']:.0f}%", j["updated_at"], j["message"]
        )
    out.print(table)


@app.command()
def result(
    job_id: str,
    format: Annotated[str, typer.Option("--format", "-f", help="json, txt, srt or vtt")] = "txt",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file")] = None,
) -> None:
    """The transcript of a finished job."""
    if format not in ("json", "txt", "srt", "vtt"):
        _fail(f"unknown format '{format}': use json, txt, srt or vtt")
    try:
        body = state.client.result(job_id, format)
    except ApiError as exc:
        _fail(str(exc))
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n" if format == "json" else body
    assert isinstance(text, str)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)
    else:
        sys.stdout.write(text)


@app.command()
def summary(
    job_id: str,
    format: Annotated[
        str, typer.Option("--format", "-f", help="paragraph, bullet_points or key_points")
    ] = "paragraph",
    model: Annotated[str | None, typer.Option(help="LLM name")] = None,
) -> None:
    """Summarise a finished job with the server's LLM."""
    try:
        body = state.client.summarize(job_id, format, model)
    except ApiError as exc:
        _fail(str(exc))
    if body["summary"].strip():
        out.print(body["summary"], highlight=False, markup=False)
    else:
        refused = len((body.get("notes") or {}).get("rejected") or [])
        err.print(
            "no summary: none of the model's notes was backed by the lines it cited "
            f"({refused} refused)",
            highlight=False,
            markup=False,
        )
    if body.get("topics"):
        out.print("topics: " + ", ".join(body["topics"]), highlight=False, markup=False)


@app.command()
def chat(
    job_id: str,
    question: str,
    model: Annotated[str | None, typer.Option(help="LLM name")] = None,
) -> None:
    """Ask the server's LLM a question about a finished job's transcript."""
    try:
        body = state.client.chat(job_id, question, model)
    except ApiError as exc:
        _fail(str(exc))
    out.print(body["message"]["content"], highlight=False, markup=False)


if __name__ == "__main__":
    app()
