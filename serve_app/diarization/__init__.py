"""Speaker diarization without the replica: the pyannote pipeline, the CAM++ embedding
model, turn confidences, and the alignment of ASR words with speaker turns.

Pure: imports neither Ray nor ``deployments`` (torch and pyannote only inside the pipeline's
constructor); ``deployments/diarizer.py`` is the replica. May import ``serve_app.transcript``
and ``serve_app.audio``.
"""
