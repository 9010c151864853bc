"""The job lifecycle: the job model (statuses, transitions, chunk states), the job store's
logic (events, long-poll streams, expiry) and its persistence.

Pure: imports neither Ray nor ``deployments``; ``deployments/job_store.py`` runs the store
as a detached actor. May import ``serve_app.transcript``.
"""
