#!/bin/sh
# Set up the headless browser the report's tests use (tests/browser.py): Debian's chromium.
# `make test` runs this before pytest.  As root on Debian it installs chromium when
# /usr/bin/chromium is missing; anywhere else it prints one line saying what to install,
# and the browser tests skip with that line as their reason.
# Usage: tests/setup_browser.sh [PYTHON]   (the Python that runs the tests; default python3)
PYTHON=${1:-python3}
cd "$(dirname "$0")/.." || exit 0
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the report's browser tests (apt-get install chromium)"
  apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
    || echo "apt-get install chromium failed"
fi
missing=$("$PYTHON" tests/browser.py 2>/dev/null) || missing="the report's browser tests need pytest, Playwright and Chromium"
[ -n "$missing" ] && echo "$missing"
exit 0
