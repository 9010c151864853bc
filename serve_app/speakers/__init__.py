"""Known speakers: a registry of enrolled people per owner (API key), their voiceprints
(speaker embeddings), and the open-set match of a job's diarized speakers against them.

Pure: imports neither Ray nor ``deployments`` (torch only inside :mod:`.voiceprint`'s
functions, which run in the diarizer replica). May import ``serve_app.transcript``,
``serve_app.audio``, ``serve_app.diarization`` and ``serve_app.jobs``' model.
"""
