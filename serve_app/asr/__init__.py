"""Whisper ASR without the replica: the model registry (names, weights on disk), language
codes, decoding options and results, and the helpers of the batched decoding path.

Pure: imports neither Ray nor ``deployments`` (faster-whisper only inside functions);
``deployments/asr.py`` is the replica. May import ``serve_app.transcript``.
"""
