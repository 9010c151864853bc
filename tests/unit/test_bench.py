"""The bench's shared modules: the meetings read from their data files, and the results files
the docs site renders (bench/report.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import llm_meetings as mt
from bench.report import format_table, table, write_results


def test_meetings_load_from_data_files() -> None:
    meetings = mt.all_meetings()
    names = [m.name for m in meetings]
    assert sorted(names) == sorted(p.stem for p in mt.MEETINGS_DIR.glob("*.yaml"))
    assert {m.split for m in meetings} == set(mt.SPLITS)
    assert mt.split("tune")[0].name == "release-planning"
    assert "coop-repairs" in [m.name for m in mt.split("report")]
    for m in meetings:
        assert m.facts and m.questions and m.turns and m.filler, m.name
        # every word group expanded: no "$NAME" left
        for group in (g for f in (*m.facts, *m.questions) for g in f.groups):
            assert group and not any(word.startswith("$") for word in group), (m.name, group)


def test_no_first_name_in_two_meetings() -> None:
    seen: dict[str, str] = {}
    for m in mt.all_meetings():
        for name in m.names:
            assert name in mt.COMMON_FIRST_NAMES, (m.name, name)
            assert seen.setdefault(name, m.name) == m.name, (name, seen[name], m.name)


def test_shared_word_groups_expand() -> None:
    no = mt.by_name("release-planning").questions[2].groups[0]
    assert "reject" in no and "wasn't" in no  # NO = REJECTED + its own words
    assert mt.found("The dark mode proposal was rejected.", [["dark mode"], no])
    assert not mt.found("Dark mode ships in 3.2.", [["dark mode"], no])


def test_bad_meeting_file_names_the_file(tmp_path: Path) -> None:
    source = (mt.MEETINGS_DIR / "clinic-rota.yaml").read_text()
    (tmp_path / "clinic-rota.yaml").write_text(source.replace('"$NO"', '"$NOPE"'))
    with pytest.raises(ValueError, match=r"clinic-rota.yaml.*unknown word group '\$NOPE'"):
        mt.load_meetings(tmp_path)


def test_transcript_spans_the_meeting() -> None:
    meeting = mt.by_name("lab-budget")
    segments = mt.transcript(meeting)
    assert segments[0]["text"] == meeting.turns[0][1]
    assert segments[-1]["text"] == meeting.turns[-1][1]
    assert abs(segments[-1]["end"] - meeting.minutes * 60) < 8


def test_invented_names() -> None:
    meeting = mt.by_name("release-planning")
    text = "Priya and Marcus agreed; Sarah will call Oliver. Sarah again."
    assert mt.invented_names(text, meeting) == ["Sarah"]


def test_write_results_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = table("Speed", ["engine", "seconds", "WER"], [["plain", 1.5, None], ["graph", 2, 0.1]])
    path = write_results(
        "speed_test", command="python bench/x.py", tables=[t], notes="n", results_dir=tmp_path
    )
    assert path == tmp_path / "speed_test.json"
    doc = json.loads(path.read_text())
    assert set(doc) == {"name", "command", "date", "machine", "notes", "tables"}
    assert doc["name"] == "speed_test" and doc["command"] == "python bench/x.py"
    assert doc["tables"] == [
        {"title": "Speed", "columns": ["engine", "seconds", "WER"],
         "rows": [["plain", 1.5, None], ["graph", 2, 0.1]]}
    ]  # fmt: skip
    assert "cores" in doc["machine"] and "GiB" in doc["machine"]
    out = capsys.readouterr().out
    assert "Speed" in out and "plain" in out and str(path) in out


def test_table_rejects_a_short_row() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells, expected 2"):
        table("t", ["a", "b"], [[1, 2], [3]])


def test_bad_results_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad results name"):
        write_results("../x", command="c", tables=[], results_dir=tmp_path)


def test_format_table_aligns_columns() -> None:
    text = format_table(table("T", ["name", "n"], [["a", 1], ["long name", 22]], caption="c"))
    lines = text.splitlines()
    assert lines[0] == "T" and lines[-1] == "c"
    assert len({len(line) for line in lines[1:-1]}) == 1  # header, rule and rows one width
