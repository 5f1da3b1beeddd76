"""Scores (pass@k, mean@N, bootstrap, maj@k, lengths) and the table layouts they are shown in."""
