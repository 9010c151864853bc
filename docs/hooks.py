"""mkdocs hooks: the parts of the docs that are generated from the code at build time.

Markers in a page, each an HTML comment on a line of its own:

- ``<!-- bench: NAME -->`` / ``<!-- bench: NAME/N -->``: the tables of
  ``bench/results/NAME.json`` (all, or table N), with the date, machine and command;
- ``<!-- bench-unlisted -->``: every results file that no ``bench:`` marker shows;
- ``<!-- config: reference -->``: every config field, from the pydantic models;
- ``<!-- api: endpoints -->`` / ``<!-- api: errors -->``: the routes and error codes of
  the FastAPI app the ingress serves;
- ``<!-- models: whisper -->`` / ``<!-- models: llm -->``: the model registries.

``openapi.json`` is written into the site from the same app. Any marker that cannot be
rendered (a missing results file, an unknown marker) fails the build.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

DOCS = Path(__file__).resolve().parent
for _path in (DOCS, DOCS.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import gen_api  # noqa: E402
import gen_bench  # noqa: E402
import gen_config  # noqa: E402
import gen_models  # noqa: E402

MARKER = re.compile(
    r"^<!-- (bench|bench-unlisted|config|api|models)(?::\s*(\S+))? -->[ \t]*$", re.MULTILINE
)
_listed_bench: set[str] = set()


def on_files(files: Files, config: Any) -> Files:
    """Collect the bench results the pages show, and add the generated openapi.json."""
    _listed_bench.clear()
    for page in files.documentation_pages():
        for kind, arg in MARKER.findall(Path(page.abs_src_path or "").read_text()):
            if kind == "bench" and arg:
                _listed_bench.add(arg.split("/")[0])
    schema = json.dumps(gen_api.openapi(), indent=2, sort_keys=False) + "\n"
    files.append(File.generated(config, "openapi.json", content=schema))
    return files


def _render(kind: str, arg: str) -> str:
    if kind == "bench" and arg:
        return gen_bench.render(arg)
    if kind == "bench-unlisted":
        return gen_bench.render_unlisted(_listed_bench)
    if kind == "config" and arg == "reference":
        return gen_config.render()
    if kind == "api" and arg == "endpoints":
        return gen_api.render_endpoints()
    if kind == "api" and arg == "errors":
        return gen_api.render_error_codes()
    if kind == "models" and arg == "whisper":
        return gen_models.render_whisper()
    if kind == "models" and arg == "llm":
        return gen_models.render_llm()
    raise PluginError(f"unknown docs marker <!-- {kind}: {arg} -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def replace(match: re.Match[str]) -> str:
        try:
            return _render(match.group(1), match.group(2) or "")
        except PluginError:
            raise
        except Exception as error:  # a generator's failure names the page and marker
            raise PluginError(f"{page.file.src_path}: {match.group(0)}: {error}") from error

    return MARKER.sub(replace, markdown)
