"""Command-line client (``transcribe``) for a running server; needs only httpx, typer, rich."""
