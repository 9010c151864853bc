"""Convert a CTranslate2 Whisper directory (faster-whisper's format) to Hugging Face
``WhisperForConditionalGeneration`` weights plus a ``WhisperProcessor``.

``python scripts/convert_ct2_whisper.py <ct2_dir> <out_dir>``. Only the embedded models exist
here in CTranslate2 form (no hub access), so this is how the transformers backend gets a real
checkpoint to serve. What the conversion undoes (CTranslate2's ``TransformersConverter`` in
reverse): the fused Q/K/V (self-attention) and K/V (cross-attention) projections are split,
the K projection has no bias (CTranslate2 stores zeros there), and ``proj_out`` is tied to the
decoder embeddings. The tokenizer comes from the directory's ``tokenizer.json`` with Whisper's
1501 timestamp tokens added (CTranslate2 directories omit them); the generation config
(special token ids, suppressed tokens, ``alignment_heads`` for word timestamps, language
tokens) from its ``config.json`` and tokenizer.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

# CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    return struct.unpack("<" + fmt, f.read(size))[0]


def _string(f: BinaryIO) -> str:
    return f.read(_read(f, "H"))[:-1].decode()


def read_ct2_variables(model_bin: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` (binary version 6), aliases resolved."""
    variables: dict[str, np.ndarray] = {}
    with model_bin.open("rb") as f:
        version = _read(f, "I")
        if version != 6:
            raise ValueError(f"{model_bin}: CTranslate2 binary version {version}, expected 6")
        spec = _string(f)
        if spec != "WhisperSpec":
            raise ValueError(f"{model_bin}: a {spec}, not a Whisper model")
        _read(f, "I")  # spec revision
        for _ in range(_read(f, "I")):
            name = _string(f)
            dims = [_read(f, "I") for _ in range(_read(f, "B"))]
            dtype_id = _read(f, "B")
            raw = f.read(_read(f, "I"))
            if dtype_id == _BFLOAT16:
                bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                array = bits.view(np.float32)
            elif dtype_id in _DTYPES:
                array = np.frombuffer(raw, dtype=_DTYPES[dtype_id])
            else:
                raise ValueError(f"{name}: unknown CTranslate2 data type {dtype_id}")
            variables[name] = array.reshape(dims) if dims else array
        for _ in range(_read(f, "I")):
            alias, target = _string(f), _string(f)
            variables[alias] = variables[target]
    quantized = [n for n in variables if n.endswith("weight_scale")]
    if quantized:
        raise ValueError(
            f"{model_bin} is quantized ({quantized[0]}); convert a float16/float32 model"
        )
    return variables


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    parts = (n.split("/") for n in variables if n.startswith(f"{prefix}/"))
    return len({p[1] for p in parts if re.fullmatch(r"layer_\d+", p[1])})


def _linear(
    out: dict[str, Any], ct2: dict[str, np.ndarray], src: str, dst: str, parts: tuple[str, ...]
) -> None:
    """Split one (possibly fused) CTranslate2 linear into ``parts`` equal HF projections."""
    import torch

    weights = np.split(ct2[f"{src}/weight"], len(parts))
    biases = np.split(ct2[f"{src}/bias"], len(parts))
    for part, weight, bias in zip(parts, weights, biases, strict=True):
        out[f"{dst}.{part}.weight"] = torch.from_numpy(weight.astype(np.float32))
        if part != "k_proj":  # Whisper's key projection has no bias
            out[f"{dst}.{part}.bias"] = torch.from_numpy(bias.astype(np.float32))


def _norm(out: dict[str, Any], ct2: dict[str, np.ndarray], src: str, dst: str) -> None:
    import torch

    out[f"{dst}.weight"] = torch.from_numpy(ct2[f"{src}/gamma"].astype(np.float32))
    out[f"{dst}.bias"] = torch.from_numpy(ct2[f"{src}/beta"].astype(np.float32))


def _ffn(out: dict[str, Any], ct2: dict[str, np.ndarray], src: str, dst: str) -> None:
    _norm(out, ct2, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    _linear(out, ct2, f"{src}/ffn/linear_0", dst, ("fc1",))
    _linear(out, ct2, f"{src}/ffn/linear_1", dst, ("fc2",))


def state_dict(ct2: dict[str, np.ndarray]) -> dict[str, Any]:
    """The HF ``WhisperForConditionalGeneration`` state dict (float32 tensors)."""
    import torch

    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(ct2[name].astype(np.float32))

    out: dict[str, Any] = {}
    for conv in ("conv1", "conv2"):
        out[f"model.encoder.{conv}.weight"] = tensor(f"encoder/{conv}/weight")
        out[f"model.encoder.{conv}.bias"] = tensor(f"encoder/{conv}/bias")
    out["model.encoder.embed_positions.weight"] = tensor("encoder/position_encodings/encodings")
    _norm(out, ct2, "encoder/layer_norm", "model.encoder.layer_norm")
    for i in range(_layer_count(ct2, "encoder")):
        src, dst = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        _norm(out, ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        qkv = ("q_proj", "k_proj", "v_proj")
        _linear(out, ct2, f"{src}/self_attention/linear_0", f"{dst}.self_attn", qkv)
        _linear(out, ct2, f"{src}/self_attention/linear_1", f"{dst}.self_attn", ("out_proj",))
        _ffn(out, ct2, src, dst)
    out["model.decoder.embed_tokens.weight"] = tensor("decoder/embeddings/weight")
    out["model.decoder.embed_positions.weight"] = tensor("decoder/position_encodings/encodings")
    _norm(out, ct2, "decoder/layer_norm", "model.decoder.layer_norm")
    for i in range(_layer_count(ct2, "decoder")):
        src, dst = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        _norm(out, ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
        qkv = ("q_proj", "k_proj", "v_proj")
        _linear(out, ct2, f"{src}/self_attention/linear_0", f"{dst}.self_attn", qkv)
        _linear(out, ct2, f"{src}/self_attention/linear_1", f"{dst}.self_attn", ("out_proj",))
        _norm(out, ct2, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
        _linear(out, ct2, f"{src}/attention/linear_0", f"{dst}.encoder_attn", ("q_proj",))
        kv = ("k_proj", "v_proj")
        _linear(out, ct2, f"{src}/attention/linear_1", f"{dst}.encoder_attn", kv)
        _linear(out, ct2, f"{src}/attention/linear_2", f"{dst}.encoder_attn", ("out_proj",))
        _ffn(out, ct2, src, dst)
    return out


def _token_ids(tokenizer_json: dict[str, Any]) -> dict[str, int]:
    return {t["content"]: t["id"] for t in tokenizer_json["added_tokens"]}


def convert(ct2_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir`` (safetensors weights, config, generation config, processor)."""
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    ct2 = read_ct2_variables(ct2_dir / "model.bin")
    ct2_config = json.loads((ct2_dir / "config.json").read_text())
    tokenizer_json = json.loads((ct2_dir / "tokenizer.json").read_text())
    ids = _token_ids(tokenizer_json)
    vocab_size, d_model = ct2["decoder/embeddings/weight"].shape
    heads = int(ct2["encoder/num_heads"].reshape(-1)[0])
    n_mels = ct2["encoder/conv1/weight"].shape[1]
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    no_timestamps = ids["<|notimestamps|>"]
    languages = {
        content: token
        for content, token in ids.items()
        if token in set(ct2_config.get("lang_ids", []))
    }
    multilingual = vocab_size >= 51865
    config = WhisperConfig(
        vocab_size=vocab_size,
        num_mel_bins=n_mels,
        d_model=d_model,
        encoder_layers=_layer_count(ct2, "encoder"),
        decoder_layers=_layer_count(ct2, "decoder"),
        encoder_attention_heads=heads,
        decoder_attention_heads=int(ct2["decoder/num_heads"].reshape(-1)[0]),
        encoder_ffn_dim=ct2["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=ct2["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=ct2["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=ct2["decoder/position_encodings/encodings"].shape[0],
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=sot,
        suppress_tokens=ct2_config.get("suppress_ids", []),
        begin_suppress_tokens=ct2_config.get("suppress_ids_begin", [220, eot]),
        tie_word_embeddings=True,
    )
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(state_dict(ct2), strict=False)
    missing = [m for m in missing if m != "proj_out.weight"]  # tied to embed_tokens
    if missing or unexpected:
        raise ValueError(f"weights do not match: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    generation = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=config.max_target_positions,
        no_timestamps_token_id=no_timestamps,
        prev_sot_token_id=ids["<|startofprev|>"],
        suppress_tokens=config.suppress_tokens,
        begin_suppress_tokens=config.begin_suppress_tokens,
        alignment_heads=ct2_config["alignment_heads"],
        is_multilingual=multilingual,
        max_initial_timestamp_index=50,
        return_timestamps=False,
    )
    if multilingual:
        generation.lang_to_id = languages
        generation.task_to_id = {
            "transcribe": ids["<|transcribe|>"],
            "translate": ids["<|translate|>"],
        }
    model.generation_config = generation
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer = WhisperTokenizerFast(
        tokenizer_file=str(ct2_dir / "tokenizer.json"),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        predict_timestamps=False,
    )
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    tokenizer.add_tokens(timestamps, special_tokens=False)
    if len(tokenizer) != vocab_size:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens, the model {vocab_size}")
    features = WhisperFeatureExtractor(feature_size=n_mels)
    WhisperProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(out_dir)
    # preprocessor_config.json as well: what hub checkpoints carry, and what faster-whisper
    # reads (mel bins) once `transcribe convert` takes this directory back to CTranslate2.
    features.save_pretrained(out_dir)
    # Written last: `make models-test` takes its presence for a complete conversion.
    (out_dir / ".converted").write_text(f"{ct2_dir.resolve()}\n")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ct2_dir", type=Path, help="CTranslate2 Whisper directory (model.bin)")
    parser.add_argument("out_dir", type=Path, help="where to write the transformers checkpoint")
    args = parser.parse_args(argv)
    print(convert(args.ct2_dir, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
