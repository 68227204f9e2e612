#!/usr/bin/env bash
# Debian packages the course's tooling uses beyond Python:
#   bubblewrap                   the sandbox `make grade` runs each submission in (autograder/)
#   chromium, chromium-driver    the browser the end-to-end tests drive (tests/test_browser_*.py)
#   nodejs, npm                  to install JupyterHub's proxy (configurable-http-proxy, an npm package) for the
#                                classroom (make classroom, tests/test_classroom_hub.py): scripts/install_hub_proxy.sh
#   python3.11, python3.11-venv  the Python of the classroom's shared environment (make classroom-env)
#   postgresql                   a gradebook server for the grading tests (tests/test_grading_cluster.py starts
#                                its own server in a temporary folder; `make grade DB=postgresql://...` uses yours)
# Installed with apt-get when we are root on a Debian-like system and a package is missing.
# Elsewhere this only says what is missing: the grader and the browser tests say so again,
# loudly, when they run (and fail where CI demands them).
set -uo pipefail

declare -A COMMAND_OF=([bubblewrap]=bwrap [chromium]=chromium [chromium-driver]=chromedriver [nodejs]=node [npm]=npm)
missing=()
for package in bubblewrap chromium chromium-driver nodejs npm; do
  command -v "${COMMAND_OF[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
# The classroom's environment (make classroom-env) is built from the system's Python 3.11, which every
# account can run (a pyenv Python in root's home is closed to students): Debian's python3.11 with venv.
/usr/bin/python3.11 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3.11 python3.11-venv)
# Debian keeps PostgreSQL's server programs off the PATH, in /usr/lib/postgresql/<version>/bin.
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "WARNING: apt-get could not install ${missing[*]}" >&2
else
  echo "NOTE: not installed: ${missing[*]}. As root on Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
fi
echo "      Without bubblewrap, 'make grade' grades without a sandbox (and refuses with --require-sandbox);" >&2
echo "      without chromium, the browser tests are skipped (and fail with REQUIRE_BROWSER=1);" >&2
echo "      without postgresql, the PostgreSQL gradebook tests are skipped (and fail with REQUIRE_SERVICES=1);" >&2
echo "      without nodejs and npm, there is no classroom hub, and its test is skipped (fails with REQUIRE_SERVICES=1)." >&2
exit 0
