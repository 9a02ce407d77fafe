#!/bin/sh
# Installs, upgrades and removes the obzvon package on a throwaway copy of
# this machine: run it as root inside `unshare --mount --net --fork`, where
# /etc, /usr and /var are overlays whose changes vanish with the namespace
# and the network is a private loopback. systemd does not run here, so a
# stand-in systemctl starts and stops the daemon as systemd would: as user
# obzvon, SIGTERM to stop (the drain), waiting for the exit.
#
#   install-test.sh WORKDIR OLD.deb NEW.deb
#
# Prints "ok: …" for each check and exits non-zero at the first failure.
set -eu
W=$1 OLD=$2 NEW=$3

fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && tail -n 30 "$W/daemon.log" >&2; exit 1; }
ok() { echo "ok: $*"; }

# The throwaway system.
mount --make-rprivate /
mkdir -p "$W/ovl"
mount -t tmpfs tmpfs "$W/ovl"
for d in etc usr var; do
	mkdir -p "$W/ovl/$d.up" "$W/ovl/$d.wk"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$W/ovl/$d.up,workdir=$W/ovl/$d.wk" "/$d"
done
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system /run/lock
ip link set lo up
[ -e /etc/passwd ] && ! getent passwd obzvon >/dev/null || fail "user obzvon exists before the install"
[ ! -e /var/lib/obzvon ] || fail "/var/lib/obzvon exists before the install"

# Services may start (a container's policy-rc.d says 101), and systemctl
# is the stand-in.
printf '#!/bin/sh\nexit 0\n' > /usr/sbin/policy-rc.d
mv /usr/bin/systemctl /usr/bin/systemctl.real
cat > /usr/bin/systemctl <<STUB
#!/bin/sh
# systemctl stand-in for install-test.sh: logs its calls, runs the daemon.
LOG=$W/systemctl.log PIDF=$W/daemon.pid
echo "systemctl \$*" >> \$LOG
act=""
for a in "\$@"; do case \$a in -*) ;; *) [ -z "\$act" ] && act=\$a ;; esac; done
alive() { [ -f \$PIDF ] && kill -0 "\$(cat \$PIDF)" 2>/dev/null; }
start() {
	alive && return 0
	setpriv --reuid obzvon --regid obzvon --init-groups /usr/bin/obzvon serve --config /etc/obzvon/obzvon.toml >> $W/daemon.log 2>&1 &
	echo \$! > \$PIDF
	i=0; until curl -sf http://127.0.0.1:8080/readyz >/dev/null; do
		i=\$((i+1)); [ \$i -gt 600 ] && { echo "stand-in: daemon not ready" >&2; return 1; }
		kill -0 "\$(cat \$PIDF)" 2>/dev/null || { echo "stand-in: daemon exited" >&2; return 1; }
		sleep 0.1
	done
}
stop() {
	alive || return 0
	pid=\$(cat \$PIDF); kill -TERM \$pid
	i=0; while kill -0 \$pid 2>/dev/null; do i=\$((i+1)); [ \$i -gt 1200 ] && { kill -KILL \$pid; echo "stand-in: killed after 120 s" >&2; return 1; }; sleep 0.1; done
	rm -f \$PIDF
}
case \$act in
	start) start ;;
	stop) stop ;;
	restart) stop && start ;;
	try-restart) alive && { stop && start; } || true ;;
	# Unit files and links: the real systemctl works on them offline.
	preset|enable|disable|mask|unmask) exec /usr/bin/systemctl.real "\$@" ;;
	is-enabled) exec /usr/bin/systemctl.real --root=/ "\$@" ;;
	is-active) alive ;;
	*) exit 0 ;;
esac
STUB
chmod 0755 /usr/bin/systemctl

# 1. Install.
dpkg -i "$OLD" > "$W/dpkg-install.log" 2>&1 || { cat "$W/dpkg-install.log" >&2; fail "dpkg -i $OLD"; }
for f in /usr/bin/obzvon /lib/systemd/system/obzvon.service /usr/lib/sysusers.d/obzvon.conf /usr/lib/tmpfiles.d/obzvon.conf \
	/etc/obzvon/obzvon.toml /usr/share/obzvon/prompts/ru/greeting.wav /usr/share/obzvon/prometheus/obzvon-rules.yml \
	/usr/share/obzvon/grafana/obzvon.json /usr/share/doc/obzvon/operations.md /usr/share/doc/obzvon/ru/README.md; do
	[ -f "$f" ] || fail "$f not installed"
done
ok "files in place"
getent passwd obzvon >/dev/null || fail "no user obzvon"
[ "$(stat -c '%U:%G %a' /var/lib/obzvon)" = "obzvon:obzvon 750" ] || fail "/var/lib/obzvon is $(stat -c '%U:%G %a' /var/lib/obzvon)"
[ "$(stat -c '%U:%G %a' /etc/obzvon/obzvon.toml)" = "root:obzvon 640" ] || fail "obzvon.toml is $(stat -c '%U:%G %a' /etc/obzvon/obzvon.toml)"
ok "user obzvon, /var/lib/obzvon obzvon:obzvon 0750, config root:obzvon 0640"
grep -qx /etc/obzvon/obzvon.toml /var/lib/dpkg/info/obzvon.conffiles || fail "obzvon.toml is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/obzvon.service ] || fail "service not enabled"
grep -q "systemctl --quiet --system start obzvon.service" "$W/systemctl.log" || fail "service not started: $(cat "$W/systemctl.log")"
curl -sf http://127.0.0.1:8080/readyz >/dev/null || fail "daemon not ready after install"
ok "service enabled, started and ready"
PID1=$(cat "$W/daemon.pid")

# Data the upgrade must keep, and an operator's edit of the config.
obzvon agent add ivanova --name 'Иванова Анна' --role operator_l1 --no-sip > /dev/null || fail "agent add through the daemon"
echo '# edited by the operator' >> /etc/obzvon/obzvon.toml

# 2. Upgrade: the old daemon drains, the new one starts on the same journal.
dpkg -i "$NEW" > "$W/dpkg-upgrade.log" 2>&1 || { cat "$W/dpkg-upgrade.log" >&2; fail "dpkg -i $NEW"; }
grep -q "systemctl --quiet --system restart obzvon.service" "$W/systemctl.log" || fail "no restart on upgrade: $(cat "$W/systemctl.log")"
PID2=$(cat "$W/daemon.pid")
[ "$PID1" != "$PID2" ] || fail "the daemon was not restarted"
grep -q 'signal received; draining' "$W/daemon.log" && grep -q 'msg=stopped' "$W/daemon.log" || fail "the old daemon did not drain and stop"
grep -q 'previous run did not stop cleanly' "$W/daemon.log" && fail "the restart was not clean"
ok "upgrade restarted the service with a drain (pid $PID1 -> $PID2)"
grep -qx '# edited by the operator' /etc/obzvon/obzvon.toml || fail "the operator's config edit was lost"
ok "config edit kept"
obzvon agent list | grep -q ivanova || fail "account lost in the upgrade"
ok "journal kept (account still there)"
dpkg-query -W -f='${Version}' obzvon | grep -q "$(basename "$NEW" | cut -d_ -f2)" || fail "version after upgrade: $(dpkg-query -W -f='${Version}' obzvon)"

# 3. Remove: the service stops, the files go, the data stays.
dpkg -r obzvon > "$W/dpkg-remove.log" 2>&1 || { cat "$W/dpkg-remove.log" >&2; fail "dpkg -r"; }
grep -q "systemctl stop obzvon.service" "$W/systemctl.log" || fail "service not stopped on remove: $(cat "$W/systemctl.log")"
[ ! -e /usr/bin/obzvon ] && [ ! -e /lib/systemd/system/obzvon.service ] || fail "files left after dpkg -r"
[ -d /var/lib/obzvon/journal ] && [ -n "$(ls /var/lib/obzvon/journal)" ] || fail "dpkg -r touched /var/lib/obzvon"
[ -f /etc/obzvon/obzvon.toml ] || fail "dpkg -r removed the conffile"
ok "dpkg -r: stopped, files gone, /var/lib/obzvon and the config kept"

# 4. Purge: the config goes, the data stays.
dpkg -P obzvon > "$W/dpkg-purge.log" 2>&1 || { cat "$W/dpkg-purge.log" >&2; fail "dpkg -P"; }
[ ! -e /etc/obzvon/obzvon.toml ] || fail "dpkg -P left the config"
[ -d /var/lib/obzvon/journal ] && [ -n "$(ls /var/lib/obzvon/journal)" ] || fail "dpkg -P touched /var/lib/obzvon"
ok "dpkg -P: config gone, /var/lib/obzvon kept"
