"""Prefect tasks: one unit of work each, safe to run twice."""
