"""koopman stage."""
