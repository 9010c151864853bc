"""The transcript: the one segment model, turning per-chunk output into one ordered
transcript, exports (txt, srt, vtt), time formatting and span replacement.

The lowest layer: imports nothing else from ``serve_app`` and neither Ray nor a model.
"""
