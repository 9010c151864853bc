"""The CPU engine's dtype choice: bfloat16 with AVX-512 BF16, and with AMX only where its
state is granted."""

from __future__ import annotations

from pathlib import Path

from serve_app.llm import cpu_features


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\n")
    return path


def test_flags_are_read_from_cpuinfo(tmp_path):
    flags = cpu_features.cpu_flags(_cpuinfo(tmp_path, "avx512f avx512_bf16 amx_tile amx_bf16"))
    assert flags >= cpu_features.AMX_FLAGS | {"avx512_bf16", "sse2"}
    assert cpu_features.cpu_flags(tmp_path / "missing") == frozenset()


def test_bfloat16_needs_avx512_bf16_and_a_listed_amx_granted(monkeypatch, tmp_path):
    read = cpu_features.cpu_flags
    listed = read(_cpuinfo(tmp_path, "avx512_bf16 amx_tile amx_bf16"))
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: listed)
    monkeypatch.setattr(cpu_features, "amx_granted", lambda: False)  # a VM without XTILEDATA
    assert cpu_features.native_bfloat16() is False
    monkeypatch.setattr(cpu_features, "amx_granted", lambda: True)
    assert cpu_features.native_bfloat16() is True
    # AVX-512 BF16 without AMX (AMD Zen 4): bfloat16 on AVX-512, no tile state needed.
    monkeypatch.setattr(cpu_features, "amx_granted", lambda: False)
    no_amx = read(_cpuinfo(tmp_path, "avx512f avx512_bf16"))
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: no_amx)
    assert cpu_features.native_bfloat16() is True
    no_bf16 = read(_cpuinfo(tmp_path, "avx512f amx_tile amx_bf16"))
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: no_bf16)
    monkeypatch.setattr(cpu_features, "amx_granted", lambda: True)
    assert cpu_features.native_bfloat16() is False
