#!/usr/bin/env bash
# Debian packages the interface tests need (run as root; idempotent):
#   chromium, chromium-driver  headless browser for tests/api/test_browser.py (/usr/bin/chromium)
#   postgresql                 server for tests/storage (started by start_postgres.sh)
#   poppler-utils              pdftotext/pdftoppm to read the PDF reports in tests
#   libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core   WeasyPrint's text layout and a font
set -euo pipefail
PACKAGES=(chromium chromium-driver postgresql poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
