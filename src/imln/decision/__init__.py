"""Recommendations with cited rationale and the IMN radiotherapy balance (not yet built)."""
