"""The CTranslate2 -> Hugging Face converter (scripts/convert_ct2_whisper.py) and back
(``transcribe convert``): on real speech the converted checkpoint, served by the transformers
backend, gives faster-whisper's text (WER difference <= 0.5 point); converting it back to
CTranslate2 gives the same text again."""

from __future__ import annotations

import importlib.util
import json

import pytest

from eval import real_data
from eval.real_speech import wer
from serve_app.asr.backends.faster_whisper import FasterWhisperBackend
from serve_app.asr.backends.transformers import TransformersBackend
from serve_app.asr.decoding import DecodeOptions
from serve_app.asr.registry import ModelRegistry, is_complete
from serve_app.paths import PROJECT_ROOT

CONFIG_BEAM = 1  # both engines greedy: the comparison is of the weights, not of beam search


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "convert_ct2_whisper", PROJECT_ROOT / "scripts" / "convert_ct2_whisper.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_en_ct2():
    _, path = ModelRegistry(PROJECT_ROOT / "models").resolve("tiny.en")
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory, tiny_en_ct2):
    out = tmp_path_factory.mktemp("hf") / "whisper-tiny.en-hf"
    return _load_script().convert(tiny_en_ct2, out)


@pytest.fixture(scope="module")
def speech():
    """About 20 s of real English telephone prompts and their transcript."""
    return real_data.asterisk_file("en", "report", seconds=18.0)


@pytest.fixture(scope="module")
def asr_config():
    from serve_app.config import ASRConfig

    return ASRConfig(beam_size=CONFIG_BEAM, compute_type="float32", cpu_threads=1)


def _text(transcript) -> str:
    return " ".join(s.text for s in transcript.segments)


def test_converted_checkpoint_is_complete(converted):
    assert is_complete(converted, "transformers")
    generation = json.loads((converted / "generation_config.json").read_text())
    assert generation["alignment_heads"], "word timestamps need the alignment heads"
    assert generation["is_multilingual"] is False


def test_transformers_backend_matches_faster_whisper(converted, tiny_en_ct2, speech, asr_config):
    options = DecodeOptions()
    ours = TransformersBackend(str(converted), asr_config, "cpu").transcribe(
        speech.audio, "en", options
    )
    bare = FasterWhisperBackend(tiny_en_ct2, asr_config, "cpu", "float32").transcribe(
        speech.audio, "en", options
    )
    ours_wer = wer(speech.text, _text(ours), "en").wer
    bare_wer = wer(speech.text, _text(bare), "en").wer
    print(f"WER transformers {ours_wer:.3f} faster-whisper {bare_wer:.3f}")
    assert abs(ours_wer - bare_wer) <= 0.005
    assert ours_wer < 0.2  # real speech is recognised at all
    # The same shapes: segments in the clip, words with times and probabilities.
    words = [w for s in ours.segments for w in s.words]
    assert words and all(0 <= w.start <= w.end <= speech.duration + 0.1 for w in words)
    assert all(0 < w.probability <= 1 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(s.avg_logprob is not None and s.avg_logprob < 0 for s in ours.segments)
    # Word times agree with faster-whisper's (both align with the same heads) within 0.5 s.
    bare_words = [w for s in bare.segments for w in s.words]
    if len(bare_words) == len(words):
        gaps = [abs(a.start - b.start) for a, b in zip(words, bare_words, strict=True)]
        assert sorted(gaps)[len(gaps) // 2] < 0.5


def test_batched_generation_gives_each_chunk_its_own_text(converted, speech, asr_config):
    backend = TransformersBackend(str(converted), asr_config, "cpu")
    half = len(speech.audio) // 2
    first, second = speech.audio[:half], speech.audio[half:]
    batch = backend.transcribe_many([first, second], "en", DecodeOptions())
    alone = backend.transcribe(second, "en", DecodeOptions())
    assert len(batch) == 2 and all(t.segments for t in batch)
    assert _text(batch[1]) == _text(alone)
    assert backend.detect_language(first) == ("en", 1.0)  # English-only checkpoint


def test_round_trip_back_to_ctranslate2_gives_the_same_text(
    converted, tiny_en_ct2, speech, asr_config, tmp_path
):
    from serve_app.client.convert import convert_to_ct2, registration_yaml

    out = convert_to_ct2(str(converted), tmp_path / "whisper-rt-ct2", "float16", False)
    assert is_complete(out, "faster-whisper")
    options = DecodeOptions()
    again = FasterWhisperBackend(out, asr_config, "cpu", "float32").transcribe(
        speech.audio, "en", options
    )
    bare = FasterWhisperBackend(tiny_en_ct2, asr_config, "cpu", "float32").transcribe(
        speech.audio, "en", options
    )
    assert _text(again) == _text(bare)
    yaml_text = registration_yaml("rt", "whisper-rt-ct2", False, str(converted))
    import yaml

    from serve_app.config import ModelsConfig

    models = ModelsConfig.model_validate(
        {"models_dir": str(tmp_path), **yaml.safe_load(yaml_text)["models"]}
    )
    registry = ModelRegistry(tmp_path, registered=models.registered)
    assert registry.resolve("rt")[1] == out
    assert {m.name: m.backend for m in registry.list_models()}["rt"] == "faster-whisper"
