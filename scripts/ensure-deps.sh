#!/usr/bin/env bash
# Installs what this machine lacks before `npm start` / `npm test`: Debian packages (as root on Debian),
# then the npm packages. Elsewhere it names what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done < scripts/apt-packages.txt

if ((${#missing[@]})); then
  if [[ -f /etc/debian_version && $(id -u) -eq 0 ]]; then
    echo "[failback] Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No recommends: with them QEMU pulls in ~170 GUI packages.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[failback] Missing system packages: ${missing[*]}" >&2
    echo "[failback] Install them (on Debian/Ubuntu: sudo apt-get install --no-install-recommends ${missing[*]}) and run the command again." >&2
    exit 1
  fi
fi

# npm packages: install when absent, or when the lock file or a patch of a package (patches/, applied by
# patch-package after every install) changed since the last install.
stale_patch() {
  local patch
  for patch in patches/*.patch; do
    [[ -e "$patch" && "$patch" -nt node_modules/.package-lock.json ]] && return 0
  done
  return 1
}
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]] || stale_patch; then
  echo "[failback] Installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
