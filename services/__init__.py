"""Domain rules (lifecycle, permissions) and the reads and writes they need. No FastAPI, no Prefect."""
