#!/usr/bin/env bash
# The lab and development installer (root): everything this repository's lab, tests and
# reports need on a fresh Debian machine, idempotently: Debian packages for the lab (Samba,
# OpenSSH server, nftables, iproute2), a venv at .venv with the locked Python set and the
# project installed editable, and the offline report tools (Java, Chromium, npm).
# A runner that only tests a network needs none of the Debian packages: `pip install .`
# (README, "Install"). Quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (apt packages and the lab's network namespaces need it)" >&2
  exit 2
fi

need_apt=()
for pair in smbd:samba smbclient:smbclient sshd:openssh-server nft:nftables ip:iproute2 \
            pgrep:procps ssh-keygen:openssh-client; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need_apt+=("${pair##*:}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
pip_quiet() {  # pip_quiet ARG...: `pip install -q ARG...`, its output shown only if it fails
  local log
  log="$(mktemp)"
  if ! .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# The locked set first (every pin and hash from requirements.lock; scripts/lock.sh refreshes
# it), then the project itself with --no-deps, so nothing unlocked comes in.
stamp=.venv/.smbtests-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  echo "setup: pip install --require-hashes -r requirements.lock; pip install --no-deps -e ."
  pip_quiet --upgrade pip
  pip_quiet --require-hashes -r requirements.lock
  pip_quiet --no-deps -e .
  .venv/bin/python -m pip check >/dev/null
  .venv/bin/python -c 'import smbtests, impacket, testinfra, winrm, allure'
  touch "$stamp"
fi

if [ -f scripts/install-report-tools.sh ]; then
  bash scripts/install-report-tools.sh
fi
echo "setup: ready (.venv/bin/smbtests, .venv/bin/pytest)"
