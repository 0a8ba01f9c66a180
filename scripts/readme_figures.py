"""Draw the README's SROC figure: imln.synthesis on mada's bundled AuditC data (NOT IMLN data).

No IMLN imaging pool exists yet (docs/imaging-evidence.md), so the README shows what
`imln evidence pool --figure` draws on a dataset whose fit is checked against R mada in
tests/synthesis. Run: python scripts/readme_figures.py  (writes docs/img/sroc-auditc.png)
"""

from pathlib import Path

import pandas as pd

from imln.synthesis import fit_reitsma, sroc_plot

ROOT = Path(__file__).parents[1]

data = pd.read_csv(ROOT / "tests" / "synthesis" / "data" / "AuditC.csv")
fit = fit_reitsma(data.TP, data.FP, data.FN, data.TN)
fig = sroc_plot(fit, title=f"imln.synthesis on mada's AuditC data ({len(data)} studies; not IMLN data)")
out = ROOT / "docs" / "img" / "sroc-auditc.png"
fig.savefig(out, dpi=110, bbox_inches="tight")
print(out)
