#!/usr/bin/env bash
# Makes this machine a libvirt host the tests and the libvirt lab can use, or stops what it started.
#
#   bash scripts/libvirt-host.sh up      install (Debian, as root), configure and start virtlogd + libvirtd
#   bash scripts/libvirt-host.sh down    stop the daemons this script started (a daemon it found running stays)
#   bash scripts/libvirt-host.sh status  prints "running" or "stopped"; exit 0 only when virsh answers
#
# Without systemd the daemons are started by hand. QEMU runs as root with no security driver: on a test or demo
# machine that keeps file permissions out of the way; a production host keeps its own qemu.conf (the script
# never rewrites a qemu.conf that sets user, group or security_driver already).
set -euo pipefail
cd "$(dirname "$0")/.."

URI=qemu:///system
STATE_DIR=/var/run/failback-libvirt
STARTED_MARK=$STATE_DIR/libvirtd-started-by-failback
VIRTLOGD_MARK=$STATE_DIR/virtlogd-started-by-failback

answers() { timeout 10 virsh -q -c "$URI" version >/dev/null 2>&1; }

install_packages() {
  local missing=()
  for pkg in libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-utils qemu-system-x86; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [[ -f /etc/debian_version && $(id -u) -eq 0 ]]; then
    echo "[libvirt-host] Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[libvirt-host] Missing packages: ${missing[*]} (sudo apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi
}

configure() {
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home -g libvirt-qemu libvirt-qemu
  mkdir -p /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/images "$STATE_DIR"
  local conf=/etc/libvirt/qemu.conf
  if ! grep -Eq '^\s*(user|group|security_driver)\s*=' "$conf" 2>/dev/null; then
    {
      echo '# Written by failback scripts/libvirt-host.sh: QEMU as root, no security driver (test and demo hosts).'
      echo 'user = "root"'
      echo 'group = "root"'
      echo 'security_driver = "none"'
    } >>"$conf"
  fi
}

up() {
  if answers; then
    echo "[libvirt-host] libvirtd answers on $URI"
    return 0
  fi
  install_packages
  if [[ $(id -u) -ne 0 ]]; then
    echo "[libvirt-host] libvirtd does not answer on $URI and only root can start it here" >&2
    exit 1
  fi
  configure
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d
    touch "$VIRTLOGD_MARK"
  fi
  if ! pgrep -x libvirtd >/dev/null; then
    libvirtd -d
    touch "$STARTED_MARK"
  fi
  # The first start of libvirtd takes several seconds (it probes QEMU's capabilities).
  for _ in $(seq 1 120); do
    if answers; then
      echo "[libvirt-host] libvirtd answers on $URI"
      return 0
    fi
    sleep 0.5
  done
  echo "[libvirt-host] libvirtd did not answer on $URI within 60 s" >&2
  exit 1
}

# Only what this script started: a daemon that ran before `up` is the machine's, not ours to stop.
down() {
  if [[ -f $STARTED_MARK ]]; then
    pkill -x libvirtd || true
    rm -f "$STARTED_MARK"
    echo "[libvirt-host] stopped libvirtd"
  fi
  if [[ -f $VIRTLOGD_MARK ]]; then
    pkill -x virtlogd || true
    rm -f "$VIRTLOGD_MARK"
    echo "[libvirt-host] stopped virtlogd"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if answers; then echo running; else echo stopped; exit 1; fi ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
