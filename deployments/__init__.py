"""What runs the flows and the service: serve entry point, schedules, CLI."""
