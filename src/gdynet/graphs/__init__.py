"""graphs stage."""
