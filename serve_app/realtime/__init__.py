"""Realtime transcription: the OpenAI-Realtime-compatible WebSocket's protocol (``protocol``),
its PCM input (``pcm``), streaming VAD that cuts the stream into utterances (``segmenter``),
partial hypotheses as append-only deltas (``partials``), the session that ties them to the
ASR replicas (``session``) and records it as an ordinary job (``recording``), and its
settings (``settings``).

Plain Python: imports neither Ray nor ``deployments/``; the ingress hands it handles.
"""
