"""The model tables of the docs, from the registries the server itself uses: the Whisper
models of ``serve_app/asr/registry.py`` and the built-in LLM list of
``serve_app/llm/settings.py``."""

from __future__ import annotations


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_whisper() -> str:
    from serve_app.asr.registry import MODELS

    rows = ["| name | hub id (alias) | weights | language | description |", "|---|---|---|---|---|"]
    for spec in MODELS:
        if spec.package:
            weights = f"embedded (`{spec.package}` package)"
        elif spec.local_dir:
            weights = f"`<models_dir>/{spec.local_dir}/`"
        else:
            weights = ""
        language = "multilingual" if spec.multilingual else "English"
        rows.append(
            f"| `{spec.name}` | `{spec.full_name}` | {weights} | {language} "
            f"| {_cell(spec.description)} |"
        )
    return "\n".join(rows)


def render_llm() -> str:
    from serve_app.llm.settings import default_models

    rows = ["| name | aliases | local path | context | description |", "|---|---|---|---|---|"]
    for model in default_models():
        aliases = ", ".join(f"`{a}`" for a in model.aliases)
        rows.append(
            f"| `{model.name}` | {aliases} | `{model.local_path}` | {model.max_model_len} "
            f"| {_cell(model.description)} |"
        )
    return "\n".join(rows)
