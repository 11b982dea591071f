#!/usr/bin/env bash
# The test command: installs what the tests need, builds in release mode (the numerics are
# checked on full-size models) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh --tests
swift test -c release "$@"
