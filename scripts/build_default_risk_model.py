"""Regenerate the bundled default risk model from the evidence base.

    python scripts/build_default_risk_model.py          # rewrite the model file
    python scripts/build_default_risk_model.py --check  # exit 1 if the file is stale

The method is in imln.risk._synthesis; the mapping of published subgroups to model
terms is src/imln/risk/data/erm_synthesis_plan.yaml.
"""

from __future__ import annotations

import argparse
import sys

from imln.risk._synthesis import default_model_path, dump_model, build_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    args = parser.parse_args()
    text = dump_model(build_model())
    path = default_model_path()
    if args.check:
        if path.read_text(encoding="utf-8") != text:
            print(f"{path} is stale: run python scripts/build_default_risk_model.py", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
