"""The audio path: decoding uploads (PyAV), speech detection (silero VAD) and chunk
planning, and the store that keeps each job's upload for re-transcription.

Pure: imports neither Ray nor ``deployments``; may import ``serve_app.errors`` and
``serve_app.config``.
"""
