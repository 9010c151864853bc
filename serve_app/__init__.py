"""Self-hosted transcription platform on Ray Serve.

Everything in this package is plain Python: importable without Ray, torch or a GPU.
The Ray Serve deployments that use it live in the top-level ``deployments`` package.
"""

__version__ = "0.1.0"
NAME = "serve-transcribe"
