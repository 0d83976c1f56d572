"""The vidpipe HTTP API (FastAPI)."""
