"""The web page's own checks that need no server: its JavaScript model under Node's test
runner, and the vendored wavesurfer.js being the npm package pinned in web/package.json."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from serve_app.http.web import STATIC_DIR
from serve_app.paths import PROJECT_ROOT

WEB = PROJECT_ROOT / "web"


def test_transcript_model_follows_the_live_protocol():
    node = shutil.which("node")
    assert node, "Node.js is needed for the web page's tests"
    run = subprocess.run(
        [node, "--test", str(PROJECT_ROOT / "tests" / "web")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 3" in run.stdout


def test_vendored_wavesurfer_is_the_pinned_npm_package():
    package = WEB / "node_modules" / "wavesurfer.js"
    if not package.exists():
        pytest.skip("web/node_modules not installed (`make web`)")
    pinned = json.loads((WEB / "package.json").read_text())["devDependencies"]["wavesurfer.js"]
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    vendored = (STATIC_DIR / "vendor" / "wavesurfer.esm.js").read_bytes()
    assert vendored == (package / "dist" / "wavesurfer.esm.js").read_bytes()
