#!/usr/bin/env bash
# Installs what `smbtests report` and its tests need, and nothing else:
#   - Java 17 (Debian openjdk-17-jre-headless): runs the Allure 2 generator
#   - allure-commandline, pinned in package.json/package-lock.json, into ./node_modules (npm ci)
#   - for tests/report only: chromium (render check), strace (proof of no network use),
#     iproute2 (network namespace for the offline build)
# Idempotent and non-interactive; prints one line per thing it installs or finds in place.
# Run as root (apt-get). Needs the Debian and npm registries only when something is missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_install() {  # apt_install PACKAGE...: install the given Debian packages without recommends
    if [ "$apt_updated" = 0 ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

deb_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

ensure_deb() {  # ensure_deb PACKAGE WHY
    if deb_installed "$1"; then
        echo "ok        $1 (already installed; $2)"
    else
        apt_install "$1"
        echo "installed $1 $(dpkg-query -W -f='${Version}' "$1") ($2)"
    fi
}

ensure_deb openjdk-17-jre-headless "Java for the Allure 2 generator"
ensure_deb chromium "headless render test of the report"
ensure_deb strace "test proof that the build opens no network connection"
ensure_deb iproute2 "network namespace for the offline build test"

if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
    echo "installed npm $(npm --version) (Debian npm; only used to install the generator)"
fi

wanted="$(sed -n 's/.*"allure-commandline": *"\([^"]*\)".*/\1/p' "$repo/package.json" | head -n 1)"
installed_json="$repo/node_modules/allure-commandline/package.json"
have=""
if [ -f "$installed_json" ]; then
    have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$installed_json" | head -n 1)"
fi
if [ -n "$wanted" ] && [ "$have" = "$wanted" ] \
        && [ -x "$repo/node_modules/allure-commandline/dist/bin/allure" ]; then
    echo "ok        allure-commandline $have (already in node_modules)"
else
    (cd "$repo" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
    echo "installed allure-commandline $wanted into $repo/node_modules (npm ci)"
fi
