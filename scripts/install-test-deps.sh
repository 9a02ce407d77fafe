#!/usr/bin/env bash
# Installs the Debian packages that obzvon's tests use as real peers and
# tools: SIPp (sip-tester), baresip, sox, espeak-ng, tcpdump, promtool
# (prometheus), systemd-analyze, openssl and sipvicious (make security),
# lintian (checks the Debian package), and Chromium with a Cyrillic font
# (the desktop's browser tests). Idempotent: does nothing when every tool
# is already on PATH.
set -euo pipefail

need=()
command -v sipp            >/dev/null 2>&1 || need+=(sip-tester)
command -v baresip         >/dev/null 2>&1 || need+=(baresip-core)
command -v sox             >/dev/null 2>&1 || need+=(sox)
command -v espeak-ng       >/dev/null 2>&1 || need+=(espeak-ng)
command -v tcpdump         >/dev/null 2>&1 || need+=(tcpdump)
command -v promtool        >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v lintian         >/dev/null 2>&1 || need+=(lintian)
command -v chromium        >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v svcrack         >/dev/null 2>&1 || need+=(sipvicious)   # make security: svcrack, svwar, svmap
command -v prlimit         >/dev/null 2>&1 || need+=(util-linux)
command -v openssl         >/dev/null 2>&1 || need+=(openssl)
# baresip's SRTP (SDES) module, used by the SRTP tests, ships in baresip-core.
[ -e /usr/lib/baresip/modules/srtp.so ] || need+=(baresip-core)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg (unattended-upgrades, a second make test) may hold
# the dpkg lock: wait for it, up to 10 minutes, instead of failing at once.
# apt-get update takes the lists lock, which the same option covers.
LOCK_WAIT=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${LOCK_WAIT[@]}" update -qq
$SUDO apt-get "${LOCK_WAIT[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
