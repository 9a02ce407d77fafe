#!/usr/bin/env bash
# leak-check.sh — does obzvon return to its idle footprint after load?
#
# One obzvon (the real `bin/obzvon serve`, loopback only) is measured at
# idle, driven by bin/obzvon-load, and measured again after the load has
# stopped and sipgo's transaction timers (Timer L/J, 64*T1 = 32 s) have
# expired:
#
#   1. short calls: SETUP_RATE calls/s for SETUP_SECONDS s to route 601
#      (INVITE→200→ACK, a 1 s prompt, BYE from obzvon), no RTP from the
#      caller;
#   2. bridged calls: MEDIA_CALLS calls to route 88xx (dial → the
#      generator's echo trunk), RTP both ways, MEDIA_SECONDS s up;
#   3. SETTLE s of idle;
#
# ROUNDS times over (a leak grows with every round; what only follows the
# peak load, such as maps and the runtime's goroutine and timer pools,
# stays put after the first).
#
# Each snapshot (idle, after) records the goroutine count (pprof on the
# admin socket), heap in use after a forced GC (/debug/pprof/heap?gc=1),
# VmRSS, obzvon_calls_active and the process's open file descriptors; the
# full goroutine dump and heap profile are kept in OUT for `go tool
# pprof`. The check fails (exit 1) when goroutines exceed the baseline by
# more than GOROUTINE_MARGIN, live heap by more than HEAP_MARGIN_MB, open
# fds by more than FD_MARGIN, or a call is still active. RSS is reported,
# not asserted: the Go runtime returns freed pages to the kernel lazily
# (scavenger), so RSS after a burst stays above the idle figure for
# minutes without anything being leaked.
#
# What to expect (2026-11, diago v0.42.1 / sipgo v1.7.3): goroutines and
# fds are back at idle as soon as the calls end; live heap is back within
# ~1-3 MB after the 32 s (the runtime's goroutine/timer pools and maps
# sized by the peak; they do not grow from round to round). During load
# every answered call keeps ~7 kB live for 32 s: sipgo holds the INVITE
# server transaction in the Accepted state until Timer L
# (sip/transaction_server_tx_fsm.go actRespondAccept), and with it the
# INVITE, the 200 OK and the DialogServerSession that DialogUA.ReadInvite's
# tx.OnTerminate closure captures. Peak heap ≈ 7 kB × rate × 32 s, twice
# that with GOGC=100 headroom. RSS stays at the peak until the runtime's
# next GC (at the latest its 2-minute forced GC), then drops.
#
# Knobs (environment):
#   QUICK=1             SETUP_SECONDS=10 MEDIA_CALLS=50 MEDIA_SECONDS=5
#   SETUP_RATE=300      SETUP_SECONDS=60
#   MEDIA_CALLS=200     MEDIA_SECONDS=30   RAMP_RATE=100
#   SETTLE=45           idle seconds after the load (> sipgo's 32 s timers)
#   ROUNDS=1            load + settle rounds on the same daemon
#   RSS_WATCH=0         then print RSS and the runtime's unreleased free heap
#                       every 30 s for this many more seconds (each sample
#                       forces a GC, which lets the scavenger release)
#   GOROUTINE_MARGIN=20 HEAP_MARGIN_MB=8   FD_MARGIN=10
#   RTP_MIN=14000 RTP_PORTS=4000   (the load benchmark's band, clear of the media tests' 20000-29999)
#   OUT=DIR             results (default: a new /tmp/obzvon-leak-check.*)
#   OBZVON_BIN=PATH     use this obzvon binary instead of building bin/obzvon
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ "${QUICK:-0}" = 1 ]; then
	SETUP_SECONDS=${SETUP_SECONDS:-10}
	MEDIA_CALLS=${MEDIA_CALLS:-50}
	MEDIA_SECONDS=${MEDIA_SECONDS:-5}
fi
SETUP_RATE=${SETUP_RATE:-300}
SETUP_SECONDS=${SETUP_SECONDS:-60}
MEDIA_CALLS=${MEDIA_CALLS:-200}
MEDIA_SECONDS=${MEDIA_SECONDS:-30}
RAMP_RATE=${RAMP_RATE:-100}
SETTLE=${SETTLE:-45}
ROUNDS=${ROUNDS:-1}
GOROUTINE_MARGIN=${GOROUTINE_MARGIN:-20}
HEAP_MARGIN_MB=${HEAP_MARGIN_MB:-8}
FD_MARGIN=${FD_MARGIN:-10}
RTP_MIN=${RTP_MIN:-14000}
RTP_PORTS=${RTP_PORTS:-4000}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-leak-check.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-leak-work.XXXXXX)

log() { echo "leak-check: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"

build_binaries
LOAD=bin/obzvon-load
pick_ports
SOCK=$WORK/data/obzvon.sock
write_prompt
write_config
cp "$CFG" "$OUT/obzvon.toml"

OBZVON_PID=
cleanup() {
	if [ -n "$OBZVON_PID" ] && kill -0 "$OBZVON_PID" 2>/dev/null; then
		kill -TERM "$OBZVON_PID" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$OBZVON_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$OBZVON_PID" 2>/dev/null || true
		wait "$OBZVON_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$OBZVON" serve --config "$CFG" >"$OUT/obzvon.log" 2>&1 &
OBZVON_PID=$!
for _ in $(seq 1 100); do
	kill -0 "$OBZVON_PID" 2>/dev/null || { log "obzvon exited during start-up:"; tail -20 "$OUT/obzvon.log" >&2; exit 1; }
	curl -fsS --unix-socket "$SOCK" http://x/readyz >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS --unix-socket "$SOCK" http://x/readyz >/dev/null || { log "obzvon not ready after 20 s"; exit 1; }
log "obzvon pid $OBZVON_PID: SIP udp 127.0.0.1:$SIP_PORT, trunk 127.0.0.1:$UAS_PORT, RTP $RTP_MIN-$RTP_MAX; results in $OUT"

pp() { curl -fsS --max-time 30 --unix-socket "$SOCK" "http://x/debug/pprof/$1"; }

# snapshot NAME: goroutines, live heap, RSS, active calls, fds into
# $OUT/NAME.env (shell assignments) plus the raw profiles.
snapshot() {
	local n=$1
	pp 'goroutine?debug=1' >"$OUT/$n-goroutine.txt"
	pp 'goroutine?debug=2' >"$OUT/$n-goroutine-full.txt"
	pp 'heap?gc=1' >"$OUT/$n-heap.pb.gz"
	pp 'heap?gc=1&debug=1' >"$OUT/$n-heap.txt"
	local g heap_inuse heap_alloc rss active fds
	g=$(sed -n '1s/^goroutine profile: total \([0-9]*\)$/\1/p' "$OUT/$n-goroutine.txt")
	heap_inuse=$(sed -n 's/^# HeapInuse = \([0-9]*\)$/\1/p' "$OUT/$n-heap.txt")
	heap_alloc=$(sed -n 's/^# HeapAlloc = \([0-9]*\)$/\1/p' "$OUT/$n-heap.txt")
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$OBZVON_PID/status")
	active=$(curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^obzvon_calls_active/ {s += $2} END {print s + 0}')
	fds=$(ls "/proc/$OBZVON_PID/fd" | wc -l)
	cat >"$OUT/$n.env" <<ENV
goroutines=$g
heap_inuse=$heap_inuse
heap_alloc=$heap_alloc
rss_kb=$rss
calls_active=$active
fds=$fds
ENV
	log "$n: goroutines $g, heap in use $((heap_inuse / 1024)) kB (live $((heap_alloc / 1024)) kB), RSS $rss kB, calls active $active, fds $fds"
}

sleep 2
snapshot idle

for round in $(seq 1 "$ROUNDS"); do
	[ "$ROUNDS" = 1 ] || log "round $round of $ROUNDS"
	log "short calls: $SETUP_RATE/s for $SETUP_SECONDS s to route 601"
	$LOAD --target "127.0.0.1:$SIP_PORT" --number 601 --rate "$SETUP_RATE" --duration "${SETUP_SECONDS}s" \
		--hold 10s --setup-timeout 10s --rtp=false --obzvon-pid "$OBZVON_PID" --progress 0 \
		--json "$OUT/setup.json" >"$OUT/setup.txt" 2>"$OUT/setup.err" || log "obzvon-load (setup) exited $?: $(tail -3 "$OUT/setup.err")"
	grep -m1 -i 'answered\|attempted' "$OUT/setup.txt" >&2 || true
	snapshot peak-setup

	ramp=$(( (MEDIA_CALLS + RAMP_RATE - 1) / RAMP_RATE ))
	hold=$(( ramp + MEDIA_SECONDS ))
	log "bridged calls: $MEDIA_CALLS to route 8801 at $RAMP_RATE/s, RTP both ways, hold $hold s"
	$LOAD --target "127.0.0.1:$SIP_PORT" --number 8801 --rate "$RAMP_RATE" --concurrent "$MEDIA_CALLS" --total "$MEDIA_CALLS" \
		--duration "$((ramp + 1))s" --hold "${hold}s" --setup-timeout 10s \
		--uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo --obzvon-pid "$OBZVON_PID" --progress 0 \
		--json "$OUT/media.json" >"$OUT/media.txt" 2>"$OUT/media.err" || log "obzvon-load (media) exited $?: $(tail -3 "$OUT/media.err")"
	python3 - "$OUT/setup.json" "$OUT/media.json" <<-'PY' >&2 || true
	import json, sys
	for f in sys.argv[1:]:
	    u = json.load(open(f)).get("uac") or {}
	    print("leak-check: %s: attempted %d answered %d failed %d timeouts %d errors %d" % (f.rsplit("/", 1)[-1], u.get("attempted", 0), u.get("answered", 0), u.get("failed", 0), u.get("timeouts", 0), u.get("errors", 0)))
	PY

	# Settle without touching the runtime (no forced GC): RSS from /proc only.
	log "load stopped; idle for $SETTLE s (sipgo Timer L/J: 32 s)"
	for t in $(seq 15 15 "$SETTLE"); do
		sleep 15
		log "idle+$t s: RSS $(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$OBZVON_PID/status") kB"
	done
	sleep $((SETTLE % 15))
	snapshot after
	[ "$ROUNDS" = 1 ] || cp "$OUT/after.env" "$OUT/after-round$round.env"
done

# The runtime hands freed heap back to the kernel in the background; show
# how RSS follows (HeapIdle-HeapReleased is free heap still resident).
if [ "${RSS_WATCH:-0}" -gt 0 ]; then
	for t in $(seq 30 30 "$RSS_WATCH"); do
		sleep 30
		pp 'heap?gc=1&debug=1' >"$WORK/watch-heap.txt"
		idle=$(sed -n 's/^# HeapIdle = \([0-9]*\)$/\1/p' "$WORK/watch-heap.txt")
		rel=$(sed -n 's/^# HeapReleased = \([0-9]*\)$/\1/p' "$WORK/watch-heap.txt")
		alloc=$(sed -n 's/^# HeapAlloc = \([0-9]*\)$/\1/p' "$WORK/watch-heap.txt")
		log "settle+${t} s: RSS $(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$OBZVON_PID/status") kB, live heap $((alloc / 1024)) kB, free heap not yet released $(((idle - rel) / 1024)) kB"
	done
fi

# Goroutines still alive after the settle time, grouped by the function
# that created them (the debug=2 dump's "created by" line), minus idle.
python3 - "$OUT/idle-goroutine-full.txt" "$OUT/after-goroutine-full.txt" <<'PY' >"$OUT/goroutines-by-creator.txt"
import collections, re, sys
def creators(path):
    c = collections.Counter()
    for block in open(path).read().split("\n\n"):
        m = re.search(r"created by (\S+)", block)
        c[m.group(1) if m else "(main or runtime)"] += 1
    return c
a, b = creators(sys.argv[1]), creators(sys.argv[2])
print("%6s %6s %6s  %s" % ("idle", "after", "delta", "created by"))
for k in sorted(set(a) | set(b), key=lambda k: -(b[k] - a[k])):
    print("%6d %6d %+6d  %s" % (a[k], b[k], b[k] - a[k], k))
PY
go tool pprof -top -sample_index=inuse_space -base "$OUT/idle-heap.pb.gz" "$OUT/after-heap.pb.gz" >"$OUT/heap-growth.txt" 2>/dev/null || true

# shellcheck disable=SC1090
. "$OUT/idle.env"; ig=$goroutines ih=$heap_alloc ir=$rss_kb ifd=$fds
# shellcheck disable=SC1090
. "$OUT/after.env"
SUMMARY=$OUT/summary.txt
{
	echo "# obzvon leak-check $(date -u +%FT%TZ), $(git describe --always --dirty 2>/dev/null || echo ?): ${SETUP_RATE}/s x ${SETUP_SECONDS} s short calls, $MEDIA_CALLS bridged x ${MEDIA_SECONDS} s, settle ${SETTLE} s"
	printf '%-12s %10s %10s %10s\n' "" idle after delta
	printf '%-12s %10d %10d %+10d\n' goroutines "$ig" "$goroutines" $((goroutines - ig))
	printf '%-12s %10d %10d %+10d\n' "heap kB" $((ih / 1024)) $((heap_alloc / 1024)) $(((heap_alloc - ih) / 1024))
	printf '%-12s %10d %10d %+10d\n' "RSS kB" "$ir" "$rss_kb" $((rss_kb - ir))
	printf '%-12s %10d %10d %+10d\n' fds "$ifd" "$fds" $((fds - ifd))
	echo "calls active after: $calls_active"
	if [ "$ROUNDS" -gt 1 ]; then
		for r in $(seq 1 "$ROUNDS"); do
			# shellcheck disable=SC1090
			(. "$OUT/after-round$r.env"; echo "after round $r: goroutines $goroutines, heap $((heap_alloc / 1024)) kB, RSS $rss_kb kB, fds $fds")
		done
	fi
	echo "goroutine growth by creator (top 10):"
	sed -n '1,11p' "$OUT/goroutines-by-creator.txt"
} | tee "$SUMMARY" >&2

fail=0
if [ $((goroutines - ig)) -gt "$GOROUTINE_MARGIN" ]; then log "FAIL: goroutines $ig → $goroutines (margin $GOROUTINE_MARGIN)"; fail=1; fi
if [ $(((heap_alloc - ih) / 1048576)) -gt "$HEAP_MARGIN_MB" ]; then log "FAIL: live heap grew $(((heap_alloc - ih) / 1048576)) MB (margin $HEAP_MARGIN_MB MB); see $OUT/heap-growth.txt"; fail=1; fi
if [ $((fds - ifd)) -gt "$FD_MARGIN" ]; then log "FAIL: open fds $ifd → $fds (margin $FD_MARGIN)"; fail=1; fi
if [ "$calls_active" != 0 ]; then log "FAIL: $calls_active calls still active"; fail=1; fi
[ "$fail" = 0 ] && log "PASS: obzvon returned to its idle footprint; details in $OUT"
exit "$fail"
