"""JSON API and portal (FastAPI)."""
