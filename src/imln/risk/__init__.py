"""Pre-test probability of IMLN metastasis from published multivariable models (not yet built)."""
