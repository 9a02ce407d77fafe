#!/bin/sh
# Builds obzvon_VERSION_ARCH.deb with dpkg-deb from a built binary:
#
#   ops/deb/build.sh BINARY VERSION [OUTDIR]
#
# VERSION is a Debian version (starts with a digit; make deb derives it from
# git). The package holds the binary, the systemd unit, the sysusers and
# tmpfiles snippets, the built-in prompts, the default config as a conffile
# (/etc/obzvon/obzvon.toml: an operator's edits survive upgrades), the alert
# rules and the dashboard, the docs, and maintainer scripts that create the
# user and the directories and start, restart (drain) or stop the service.
set -eu

BIN=$1
VERSION=$2
OUT=${3:-.}
ARCH=$(dpkg --print-architecture)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$TOP/ops/deb"

case $VERSION in
[0-9]*) ;;
*) echo "build.sh: version $VERSION must start with a digit (Debian policy 5.6.12)" >&2; exit 2 ;;
esac

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
umask 022

install -D -m 0755 "$BIN" "$ROOT/usr/bin/obzvon"
install -d -m 0755 "$ROOT/usr/share/man/man8" # ToMan writes section 8 (a daemon)
"$BIN" man | gzip -9n > "$ROOT/usr/share/man/man8/obzvon.8.gz"
install -D -m 0644 "$TOP/systemd/obzvon.service" "$ROOT/lib/systemd/system/obzvon.service"
install -D -m 0644 "$TOP/systemd/obzvon.sysusers" "$ROOT/usr/lib/sysusers.d/obzvon.conf"
install -D -m 0644 "$TOP/systemd/obzvon.tmpfiles" "$ROOT/usr/lib/tmpfiles.d/obzvon.conf"
install -D -m 0644 "$TOP/systemd/obzvon.toml" "$ROOT/etc/obzvon/obzvon.toml"
install -d -m 0755 "$ROOT/usr/share/obzvon/prompts/ru"
install -m 0644 "$TOP"/prompts/ru/*.wav "$ROOT/usr/share/obzvon/prompts/ru/"
install -D -m 0644 "$TOP/ops/prometheus/obzvon-rules.yml" "$ROOT/usr/share/obzvon/prometheus/obzvon-rules.yml"
install -D -m 0644 "$TOP/ops/grafana/obzvon.json" "$ROOT/usr/share/obzvon/grafana/obzvon.json"
install -D -m 0644 "$TOP/ops/grafana/provisioning/obzvon-dashboards.yml" "$ROOT/usr/share/obzvon/grafana/provisioning/obzvon-dashboards.yml"
DOC="$ROOT/usr/share/doc/obzvon"
install -d -m 0755 "$DOC" "$DOC/ru"
install -m 0644 "$TOP/README.md" "$TOP/docs/architecture.md" "$TOP/docs/operations.md" "$DOC/"
install -m 0644 "$TOP"/docs/ru/*.md "$DOC/ru/"
install -m 0644 "$HERE/copyright" "$DOC/copyright"
# Debian changelog, compressed as policy wants (-n: reproducible).
sed "s/@VERSION@/$VERSION/; s/@DATE@/$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")/" "$HERE/changelog.in" |
	gzip -9n > "$DOC/changelog.gz"

install -d -m 0755 "$ROOT/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
# A binary built with cgo needs the C library it was linked against.
LIBC=
if GLIBC=$(objdump -T "$BIN" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n1) && [ -n "$GLIBC" ]; then
	LIBC="libc6 (>= ${GLIBC#GLIBC_}), "
fi
sed "s/@VERSION@/$VERSION/; s/@ARCH@/$ARCH/; s/@SIZE@/$SIZE/; s/@LIBC@/$LIBC/" "$HERE/control.in" > "$ROOT/DEBIAN/control"
install -m 0644 "$HERE/conffiles" "$ROOT/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$HERE/$s" "$ROOT/DEBIAN/$s"
done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums"

DEB="$OUT/obzvon_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
