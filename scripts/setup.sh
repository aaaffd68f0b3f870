#!/usr/bin/env bash
# Installs everything smbtests needs on a fresh Debian machine, idempotently:
# Debian packages for the lab (Samba, OpenSSH, nftables, iproute2), a venv at .venv with the
# project installed editable, and the offline report tools. Quick when already done.
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
stamp=.venv/.smbtests-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: pip install -e .[dev]"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v WARNING || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v -e WARNING -e BuildBackendWarning || true
  .venv/bin/python -c 'import smbtests, impacket, testinfra, winrm, allure' 
  touch "$stamp"
fi

if [ -f scripts/install-report-tools.sh ]; then
  bash scripts/install-report-tools.sh
fi
echo "setup: ready (.venv/bin/smbtests, .venv/bin/pytest)"
