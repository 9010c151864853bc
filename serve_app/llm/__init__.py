"""Summary and chat over transcripts without the engine: LLM settings, prompts, fitting a
transcript into the context window, the summary's map-reduce plan, output shaping and the
API schemas.

Pure: imports neither Ray nor vllm nor ``deployments``; the LLM replica
(``deployments/llm_server.py``) and the assistant (``deployments/assistant.py``) use it.
"""
