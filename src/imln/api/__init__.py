"""HTTP API, web page, reports and FHIR export (not yet built)."""
