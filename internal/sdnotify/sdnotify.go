// Package sdnotify tells systemd about the daemon's life (sd_notify(3)):
// READY=1 once the SIP and HTTP listeners are bound and the journal is
// open, STOPPING=1 when the drain starts, WATCHDOG=1 from the main loop.
//
// Every function is a no-op returning nil when NOTIFY_SOCKET is unset, as it
// is when obzvon runs outside systemd (make run, tests), so callers need no
// checks. The unit (systemd/obzvon.service) is Type=notify with
// NotifyAccess=main and WatchdogSec=30s.
package sdnotify

import (
	"fmt"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends state to the socket named by NOTIFY_SOCKET, if any.
func notify(state string) error {
	// unsetEnvironment=false: the daemon notifies more than once (READY,
	// then WATCHDOG, then STOPPING), so NOTIFY_SOCKET must stay set.
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %s to %q: %w", state, os.Getenv("NOTIFY_SOCKET"), err)
	}
	return nil
}

// Ready tells systemd that start-up is complete (READY=1); until then
// `systemctl start obzvon` waits and the unit is "activating". Call it once,
// after the SIP and HTTP listeners are bound and the journal is open.
func Ready() error { return notify(daemon.SdNotifyReady) }

// Stopping tells systemd that shutdown has begun (STOPPING=1). Call it when
// the drain starts, so the unit shows "deactivating" while calls finish.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Watchdog tells systemd the daemon is alive (WATCHDOG=1). Call it from the
// main loop every WatchdogInterval, so a stuck loop, not just a dead
// process, gets the daemon restarted.
func Watchdog() error { return notify(daemon.SdNotifyWatchdog) }

// Status sets the free-form status line `systemctl status obzvon` shows
// (STATUS=...), for example how many calls remain during the drain. msg
// must be a single line; a newline would start another assignment, so
// Status rejects it.
func Status(msg string) error {
	for _, r := range msg {
		if r == '\n' {
			return fmt.Errorf("sd_notify STATUS: message %q has a newline", msg)
		}
	}
	return notify("STATUS=" + msg)
}

// WatchdogInterval returns how often to call Watchdog: half the watchdog
// timeout systemd set in WATCHDOG_USEC (so one late ping is not fatal), and
// true. It returns 0 and false when the watchdog is off for this process:
// WATCHDOG_USEC unset, zero or malformed, or WATCHDOG_PID naming another
// process.
func WatchdogInterval() (time.Duration, bool) {
	timeout, err := daemon.SdWatchdogEnabled(false)
	if err != nil || timeout <= 0 {
		return 0, false
	}
	return timeout / 2, true
}
