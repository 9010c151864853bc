"""ASR engines behind one Protocol (``base.ASRBackend``): ``faster_whisper`` (CTranslate2),
``transformers`` (``WhisperForConditionalGeneration``: fine-tuned and distil checkpoints) and
``vllm`` (Whisper on a GPU through vLLM). A registry entry names its backend
(``entry.BACKENDS``); ``deployments/asr.py`` builds the one it names with ``load_backend``.

Heavy imports (ctranslate2, faster_whisper, torch, transformers, vllm) happen inside the
backends' constructors only, so this package imports fast.
"""
