"""Autoscaling on the real backlog, and scale to zero.

``policy`` sizes the ASR replicas on the audio-seconds they hold and the chunks queued in
front of them (a Ray Serve custom autoscaling policy, chosen by ``options`` from config);
``queued_audio`` is the replica side that reports those seconds; ``cold_start`` turns a
request that waits for a deployment scaled to zero into a clear "starting" answer;
``cluster_nodes`` prints a cluster's nodes for ``transcribe config check``.

``policy`` runs inside the Serve controller (cloudpickled by value), so it imports nothing
beyond the standard library; nothing here imports ``deployments/``.
"""
