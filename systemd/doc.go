// Package systemd holds no Go code for the daemon: it is the home of the
// files that make obzvon a systemd service, and of the tests that check them.
//
//   - obzvon.service: the unit (Type=notify with a watchdog, an unprivileged
//     obzvon user, no capabilities, a strict sandbox).
//   - obzvon.sysusers: the obzvon system user (sysusers.d).
//   - obzvon.tmpfiles: /var/lib/obzvon/{journal,recordings} and the
//     ownership of /etc/obzvon (tmpfiles.d).
//
// `make install` puts them in place; the tests run systemd-analyze verify and
// security on the unit, and run `make install` into a temporary root and
// apply the sysusers and tmpfiles snippets there.
package systemd
