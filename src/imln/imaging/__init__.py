"""Imaging findings to modality results and post-test probabilities (not yet built)."""
