"""``python -m imln.quantitative`` runs the quantitative sub-commands (measure, batch, radiomics)."""

from imln.quantitative._cli import app

app(prog_name="python -m imln.quantitative")
