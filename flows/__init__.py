"""Prefect flows: the mentorship lifecycle and the scheduled sweeps."""
