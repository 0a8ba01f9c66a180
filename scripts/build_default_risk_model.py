"""Regenerate the bundled risk models from the evidence base.

    python scripts/build_default_risk_model.py          # rewrite the model files
    python scripts/build_default_risk_model.py --check  # exit 1 if a file is stale

Two models are built:

* ``imln-erm-joint`` (the default): one joint fit to every published cell
  (imln.risk._joint; plan src/imln/risk/data/erm_joint_plan.yaml);
* ``imln-erm-synthesis`` (kept for comparison): the first synthesis, one table at a
  time (imln.risk._synthesis; plan src/imln/risk/data/erm_synthesis_plan.yaml).
"""

from __future__ import annotations

import argparse
import sys

from imln.risk._joint import build_joint_model, dump_joint_model, joint_model_path
from imln.risk._synthesis import build_model, default_model_path, dump_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped files instead of writing")
    args = parser.parse_args()
    stale = 0
    for path, text in (
        (joint_model_path(), dump_joint_model(build_joint_model())),
        (default_model_path(), dump_model(build_model())),
    ):
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} is stale: run python scripts/build_default_risk_model.py", file=sys.stderr)
                stale = 1
            else:
                print(f"{path} is up to date")
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return stale


if __name__ == "__main__":
    raise SystemExit(main())
