"""``transcribe convert``: a Hugging Face Whisper checkpoint (fine-tuned Whisper,
distil-whisper, a directory or a hub id) becomes a CTranslate2 model for faster-whisper, the
fast CPU path, and the YAML that registers it under a new name is printed.

Uses CTranslate2's own converter (``ctranslate2.converters.TransformersConverter``, what
``ct2-transformers-converter`` runs); the tokenizer and feature-extractor files are copied
beside ``model.bin`` as faster-whisper expects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from serve_app.paths import resolve_path

COPIED_FILES = ("tokenizer.json", "preprocessor_config.json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def registration_yaml(name: str, path: str, multilingual: bool, source: str) -> str:
    """The ``models.registered`` entry that serves the converted model as ``name``."""
    return (
        "models:\n"
        "  registered:\n"
        f"    - name: {name}\n"
        "      backend: faster-whisper\n"
        f"      path: {path}\n"
        f"      multilingual: {'true' if multilingual else 'false'}\n"
        f"      description: CTranslate2 conversion of {source}\n"
    )


def convert_to_ct2(source: str, out_dir: Path, quantization: str | None, force: bool) -> Path:
    """Run CTranslate2's converter on ``source`` into ``out_dir``; returns ``out_dir``."""
    from ctranslate2.converters import TransformersConverter

    local = Path(source)
    copy = [f for f in COPIED_FILES if not local.is_dir() or (local / f).is_file()]
    converter = TransformersConverter(source, copy_files=copy)
    return Path(converter.convert(str(out_dir), quantization=quantization, force=force))


def _is_multilingual(source: str) -> bool:
    generation = Path(source) / "generation_config.json"
    if generation.is_file():
        return bool(json.loads(generation.read_text()).get("is_multilingual", True))
    return not source.rstrip("/").endswith(".en")


def convert(
    source: Annotated[str, typer.Argument(help="Hugging Face Whisper directory or hub id")],
    name: Annotated[str, typer.Option(help="Name to serve the model under (model=...)")],
    models_dir: Annotated[
        str, typer.Option(help="Where served models live (models.models_dir)")
    ] = "models",
    quantization: Annotated[
        str, typer.Option(help="Weight type in model.bin: float16, int8, float32 ...")
    ] = "float16",
    force: Annotated[bool, typer.Option(help="Overwrite an existing output directory")] = False,
) -> None:
    """Convert a Hugging Face Whisper checkpoint to CTranslate2 and print its registration."""
    if not _NAME.match(name):
        raise typer.BadParameter("letters, digits, '.', '_' and '-' only", param_hint="--name")
    directory = f"whisper-{name}-ct2"
    out_dir = resolve_path(models_dir) / directory
    if out_dir.exists() and not force:
        raise typer.BadParameter(f"{out_dir} exists (--force to overwrite)", param_hint="--name")
    try:
        convert_to_ct2(source, out_dir, None if quantization == "float32" else quantization, force)
    except (OSError, ValueError) as exc:
        typer.echo(f"conversion failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"# wrote {out_dir}; add to your config (configs/*.yaml):", err=True)
    typer.echo(registration_yaml(name, directory, _is_multilingual(source), source))
