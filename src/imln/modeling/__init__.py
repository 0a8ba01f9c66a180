"""Researchers' workbench: fit, validate, calibrate, nomograms, decision curves (not yet built)."""
