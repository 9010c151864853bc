"""The package layout docs/contributing.md describes: what each package of serve_app may import."""

from __future__ import annotations

import ast
from pathlib import Path

from serve_app.paths import PROJECT_ROOT

SHARED = {"errors", "paths", "config", "deployment_options", "registered_models"}
# Package -> the other serve_app packages (beyond SHARED) it may import. None of these may
# import Ray or the deployments.
PURE = {
    "transcript": set(),
    "jobs": {"transcript", "diarization", "speakers"},
    "audio": set(),
    "asr": {"transcript", "audio"},
    "diarization": {"transcript", "audio"},
    "llm": set(),
    "http": {"transcript", "jobs", "audio", "asr", "llm", "realtime", "speakers"},
    "speakers": {"transcript", "audio"},
    "realtime": {"transcript", "jobs", "audio", "asr", "diarization", "retrying"},
    "client": set(),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_pure_packages_import_only_what_the_layout_allows():
    problems = []
    for package, allowed in PURE.items():
        for path in sorted((PROJECT_ROOT / "serve_app" / package).rglob("*.py")):
            for module in _imports(path):
                top, _, rest = module.partition(".")
                ours = (top == "serve_app" and rest.split(".")[0]) or None
                if top in ("ray", "deployments") or ours not in {None, package, *SHARED, *allowed}:
                    problems.append(f"{path.name} ({package}) imports {module}")
    assert not problems, problems


def test_modules_stay_small():
    too_long = {
        str(p.relative_to(PROJECT_ROOT)): n
        for root in ("serve_app", "deployments")
        for p in (PROJECT_ROOT / root).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not too_long, too_long
