import pytest

from serve_app.asr.registry import ModelRegistry
from serve_app.errors import InvalidRequestError, ModelUnavailableError
from serve_app.paths import PROJECT_ROOT


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path)


def test_embedded_tiny_en_is_present(registry):
    _, path = registry.resolve("tiny.en")
    assert (path / "model.bin").is_file()
    info = {m.name: m for m in registry.list_models()}["tiny.en"]
    assert info.is_downloaded and info.size_mb > 50


def test_base_is_present_after_model_setup():
    registry = ModelRegistry(PROJECT_ROOT / "models")
    info = {m.name: m for m in registry.list_models()}["base"]
    assert info.is_downloaded, "run `make models`"
    assert info.size_mb > 100


def test_missing_model_is_listed_but_not_downloaded(registry):
    info = {m.name: m for m in registry.list_models()}
    assert info["large-v3"].is_downloaded is False
    assert info["large-v3"].size_mb == 0
    assert info["base"].is_downloaded is False  # empty models_dir


def test_unknown_model_error_lists_available(registry):
    with pytest.raises(InvalidRequestError, match=r"Unknown model 'gpt-4'.*tiny.en"):
        registry.resolve("gpt-4")


def test_unavailable_model_error_says_how_to_fix(registry, tmp_path):
    with pytest.raises(ModelUnavailableError, match=r"large-v3.*not available.*whisper-large-v3"):
        registry.resolve("large-v3")


def test_aliases_resolve(registry):
    assert registry.spec("Systran/faster-whisper-tiny.en").name == "tiny.en"
    assert registry.spec("whisper-large-v3-turbo").name == "large-v3-turbo"


def test_a_placed_model_becomes_available(registry, tmp_path):
    d = tmp_path / "whisper-small"
    d.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (d / name).write_bytes(b"x" * 10)
    _, path = registry.resolve("small")
    assert path == d
