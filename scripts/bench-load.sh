#!/usr/bin/env bash
# bench-load.sh — issue 2 benchmarks of the obzvon appliance on loopback:
#
# A fresh obzvon serves each step (SIGTERM and wait in between).
#
#   (a) call setup: INVITE→200→ACK to route 601 (a 1 s prompt, then obzvon
#       hangs up) at increasing rates; the highest rate with zero failures
#       and obzvon's CPU per call;
#   (b) media: N concurrent bridged calls to route 88xx (dial → the
#       generator's own trunk), RTP both ways, loss, obzvon CPU per
#       forwarded packet (recording on), RSS per call.
#
# Every figure comes with /proc/pressure/cpu (some avg10): the machine has
# 2 cores shared with other work. Knobs (environment):
#
#   QUICK=1            10 s steps (STEP_SECONDS=10, MEDIA_SECONDS=10)
#   STEP_SECONDS=60    length of one call-setup step
#   SETUP_RATES="100 200 300 500 700 1000"   calls/s, stops at the first failing rate
#   MEDIA_CALLS="250 500 1000"               concurrent bridged calls per media step
#   MEDIA_SECONDS=30   steady time with all calls up
#   RAMP_RATE=100      calls/s while ramping up a media step
#   UAS_MODE=echo      trunk echoes (echo) or streams the tone (tone); echo also
#                      measures RTP round trips (--rtt)
#   BASELINE=1         after each media step, the same calls straight from the
#                      generator's callers to its trunk (no obzvon), 10 s steady:
#                      the round trip without obzvon, to subtract
#   RTP_MIN=14000      obzvon's RTP range is RTP_MIN..RTP_MIN+RTP_PORTS-1
#   RTP_PORTS=4000     (2 ports per leg, 2 legs per bridged call)
#   SKIP_SETUP=1 / SKIP_MEDIA=1              run one part only
#   OUT=DIR            results directory (default: a new /tmp/obzvon-bench-load.*)
#   OBZVON_BIN=PATH    use this obzvon binary instead of building bin/obzvon
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	STEP_SECONDS=${STEP_SECONDS:-10}
	MEDIA_SECONDS=${MEDIA_SECONDS:-10}
fi
STEP_SECONDS=${STEP_SECONDS:-60}
MEDIA_SECONDS=${MEDIA_SECONDS:-30}
SETUP_RATES=${SETUP_RATES:-"100 200 300 500 700 1000"}
MEDIA_CALLS=${MEDIA_CALLS:-"250 500 1000"}
RAMP_RATE=${RAMP_RATE:-100}
UAS_MODE=${UAS_MODE:-echo}
RTP_MIN=${RTP_MIN:-14000}
RTP_PORTS=${RTP_PORTS:-4000}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-bench-load.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-bench-work.XXXXXX)

log() { echo "bench-load: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"
psi() { sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }

build_binaries
pick_ports
write_prompt
write_config
cp "$CFG" "$OUT/obzvon.toml"

OBZVON_PID=
stop_obzvon() {
	[ -n "$OBZVON_PID" ] || return 0
	if kill -0 "$OBZVON_PID" 2>/dev/null; then
		log "stopping obzvon (pid $OBZVON_PID, SIGTERM)"
		kill -TERM "$OBZVON_PID" 2>/dev/null || true
		for _ in $(seq 1 150); do
			kill -0 "$OBZVON_PID" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$OBZVON_PID" 2>/dev/null; then
			log "obzvon still running 30 s after SIGTERM; SIGKILL"
			kill -KILL "$OBZVON_PID" 2>/dev/null || true
		fi
	fi
	wait "$OBZVON_PID" 2>/dev/null || true
	OBZVON_PID=
}
cleanup() {
	stop_obzvon
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_obzvon: a fresh appliance with an empty data directory for each
# step, so that one step's leftovers (heap, calls still draining, journal
# records) do not weigh on the next and the RSS per call is measured from
# an idle process.
start_obzvon() {
	rm -rf "$WORK/data" # fresh journal and recordings: Badger's memory is not per call
	echo "=== $1 ===" >>"$OUT/obzvon.log"
	"$OBZVON" serve --config "$CFG" >>"$OUT/obzvon.log" 2>&1 &
	OBZVON_PID=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$OBZVON_PID" 2>/dev/null; then
			log "obzvon exited during start-up:"; tail -20 "$OUT/obzvon.log" >&2; exit 1
		fi
		curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	log "obzvon not ready after 20 s"; exit 1
}

log "obzvon: SIP udp 127.0.0.1:$SIP_PORT, RTP $RTP_MIN-$RTP_MAX, HTTP $HTTP_PORT, trunk 127.0.0.1:$UAS_PORT; results in $OUT"
: >"$OUT/obzvon.log"

SUMMARY=$OUT/summary.txt
{
	echo "# obzvon bench-load $(date -u +%FT%TZ) on $(nproc) cores, $(git describe --always --dirty 2>/dev/null || echo ?)"
	echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure some avg10: $(psi) %"
} >"$SUMMARY"

# row FILE KIND: one summary line from a JSON report.
row() {
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); kind = sys.argv[2]
u, s, w, o, p = r.get("uac") or {}, r.get("uas") or {}, r["window"], r.get("obzvon") or {}, r["cpu_pressure_some_avg10"]
fails = u.get("failed", 0) + u.get("timeouts", 0) + u.get("errors", 0)
psi = "psi %.1f/%.1f/%.1f" % (p["start"], p["max"], p["end"])
if kind == "setup":
    print("setup rate %-5g placed %7.1f/s attempted %6d answered %6d failed %d %s timeouts %d errors %d | setup p50 %.2f ms p99 %.2f ms | obzvon %.1f%% core, %.3f ms CPU/call, rss peak %.1f MB | gen %.1f%% core | %s"
          % (r["config"]["rate"], u.get("placed_per_s", 0), u.get("attempted", 0), u.get("answered", 0), u.get("failed", 0),
             u.get("failed_by_code", {}), u.get("timeouts", 0), u.get("errors", 0), u["setup"]["p50_ms"], u["setup"]["p99_ms"],
             w.get("obzvon_cpu_pct_of_core", 0), w.get("obzvon_cpu_ms_per_answered_call", 0), o.get("rss_peak_kb", 0)/1024,
             w["generator_cpu_pct_of_core"], psi))
    sys.exit(0 if fails == 0 and u.get("answered", 0) == u.get("attempted", -1) and u.get("attempted", 0) > 0 else 1)
ur, tr = u.get("rtp", {}), s.get("rtp", {})
print("media %5d calls: answered %d/%d failed %d %s timeouts %d | window %.1f s steady=%s | rx %d pkt/s (caller sent %.1f%% of its 50/s schedule) | loss caller %d/%d (%.3f%%) trunk %d/%d (%.3f%%), legs without RTP %d/%d | tone share %.2f/%.2f | obzvon %.1f%% core, %.3f us/pkt, rss %.1f MB peak, %.1f kB/call | gen %.1f%% core | %s"
      % (r["config"]["total"], u.get("answered", 0), u.get("attempted", 0), u.get("failed", 0), u.get("failed_by_code", {}), u.get("timeouts", 0),
         w["seconds"], w["steady"], w["rx_packets_per_s"], ur.get("sent_pct_of_schedule", 0),
         ur.get("lost", 0), ur.get("expected", 0), ur.get("loss_pct", 0), tr.get("lost", 0), tr.get("expected", 0), tr.get("loss_pct", 0),
         ur.get("legs_without_rtp", 0), tr.get("legs_without_rtp", 0),
         ur.get("tone_share_min", -1), tr.get("tone_share_min", -1),
         w.get("obzvon_cpu_pct_of_core", 0), w.get("obzvon_cpu_us_per_forwarded_packet", 0), o.get("rss_peak_kb", 0)/1024,
         o.get("rss_kb_per_call", 0), w["generator_cpu_pct_of_core"], psi), end="")
m = r.get("obzvon_metrics_window") or {}
c = m.get("counters") or {}
extra = " | obzvon /metrics: in %d out %d lost %d" % (c.get('obzvon_rtp_packets_total{dir="in"}', 0), c.get('obzvon_rtp_packets_total{dir="out"}', 0), c.get("obzvon_rtp_lost_packets_total", 0))
for name, h in (m.get("delay_histograms") or {}).items():
    extra += " | %s p50 %.1f us p99 %.1f us" % (name, h["p50_us"], h["p99_us"])
if not m.get("delay_histograms"):
    extra += " | no delay histogram exposed"
print(extra)
sys.exit(0 if fails == 0 and ur.get("lost", 1) == 0 and tr.get("lost", 1) == 0 else 1)
PY
}

LOAD=bin/obzvon-load
if [ "${SKIP_SETUP:-0}" != 1 ]; then
	log "(a) call setup to route 601, ${STEP_SECONDS} s per rate: $SETUP_RATES"
	best=0
	for rate in $SETUP_RATES; do
		f=$OUT/setup-$rate.json
		start_obzvon "setup $rate/s"
		log "setup rate $rate/s, obzvon pid $OBZVON_PID (psi $(psi) %)"
		$LOAD --target "127.0.0.1:$SIP_PORT" --number 601 --rate "$rate" --duration "${STEP_SECONDS}s" \
			--hold 10s --setup-timeout 10s --rtp=false --obzvon-pid "$OBZVON_PID" \
			--metrics-url "http://127.0.0.1:$HTTP_PORT/metrics" --progress 10s --json "$f" >"$OUT/setup-$rate.txt" 2>"$OUT/setup-$rate.err" || { log "obzvon-load failed: $(tail -3 "$OUT/setup-$rate.err")"; break; }
		if line=$(row "$f" setup); then
			echo "$line" | tee -a "$SUMMARY"
			best=$rate
		else
			echo "$line (FAILURES)" | tee -a "$SUMMARY"
			break
		fi
		kill -0 "$OBZVON_PID" 2>/dev/null || { log "obzvon died"; break; }
		stop_obzvon
	done
	stop_obzvon
	echo "setup: highest rate with zero failures: $best calls/s (${STEP_SECONDS} s steps)" | tee -a "$SUMMARY"
fi

if [ "${SKIP_MEDIA:-0}" != 1 ]; then
	log "(b) media: bridged calls to route 88xx, $MEDIA_SECONDS s steady: $MEDIA_CALLS"
	RTT=
	[ "$UAS_MODE" = echo ] && RTT=--rtt
	for n in $MEDIA_CALLS; do
		ramp=$(( (n + RAMP_RATE - 1) / RAMP_RATE ))
		hold=$(( ramp + MEDIA_SECONDS + 2 ))
		f=$OUT/media-$n.json
		start_obzvon "media $n calls"
		log "media $n calls: ramp ${ramp} s at $RAMP_RATE/s, hold ${hold} s, obzvon pid $OBZVON_PID (psi $(psi) %)"
		$LOAD --target "127.0.0.1:$SIP_PORT" --number 8801 --rate "$RAMP_RATE" --concurrent "$n" --total "$n" \
			--duration "$((ramp + 1))s" --hold "${hold}s" --setup-timeout 10s \
			--uas-listen "127.0.0.1:$UAS_PORT" --uas-mode "$UAS_MODE" $RTT --obzvon-pid "$OBZVON_PID" \
			--metrics-url "http://127.0.0.1:$HTTP_PORT/metrics" --progress 10s --json "$f" >"$OUT/media-$n.txt" 2>"$OUT/media-$n.err" || { log "obzvon-load failed: $(tail -3 "$OUT/media-$n.err")"; break; }
		line=$(row "$f" media) && echo "$line" | tee -a "$SUMMARY" || echo "$line (FAILURES OR LOSS)" | tee -a "$SUMMARY"
		kill -0 "$OBZVON_PID" 2>/dev/null || { log "obzvon died"; break; }
		stop_obzvon
		du -sh "$WORK/data/recordings" 2>/dev/null | sed "s/^/recordings of $n calls: /" >>"$SUMMARY" || true
		if [ "${BASELINE:-1}" = 1 ] && [ -n "$RTT" ]; then
			b=$OUT/direct-$n.json
			hold=$(( ramp + 12 ))
			log "baseline $n calls straight to the generator's trunk (no obzvon), hold ${hold} s (psi $(psi) %)"
			$LOAD --target "127.0.0.1:$UAS_PORT" --number 8800 --rate "$RAMP_RATE" --concurrent "$n" --total "$n" \
				--duration "$((ramp + 1))s" --hold "${hold}s" --setup-timeout 10s \
				--uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo --rtt \
				--progress 10s --json "$b" >"$OUT/direct-$n.txt" 2>"$OUT/direct-$n.err" || { log "obzvon-load failed: $(tail -3 "$OUT/direct-$n.err")"; continue; }
			python3 - "$f" "$b" <<'PY' | tee -a "$SUMMARY"
import json, sys
m, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def rt(r):
    x = ((r.get("uac") or {}).get("rtp") or {}).get("delay") or {}
    return x.get("p50_us", 0), x.get("p99_us", 0), x.get("n", 0)
def echo(r):
    x = ((r.get("uas") or {}).get("rtp") or {}).get("delay") or {}
    return x.get("p50_us", 0), x.get("p99_us", 0)
(m50, m99, mn), (d50, d99, dn) = rt(m), rt(d)
(e50, e99) = echo(m)
p = d["cpu_pressure_some_avg10"]
print("delay %5d calls: round trip via obzvon p50 %.0f us p99 %.0f us (n=%d; trunk echo p50 %.0f p99 %.0f) | direct p50 %.0f us p99 %.0f us (n=%d, psi %.1f/%.1f/%.1f) | per obzvon hop ~(via-direct)/2: p50 %.0f us, p99 %.0f us"
      % (m["config"]["total"], m50, m99, mn, e50, e99, d50, d99, dn, p["start"], p["max"], p["end"], (m50-d50)/2, (m99-d99)/2))
PY
		fi
	done
fi

echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure some avg10: $(psi) %" >>"$SUMMARY"
stop_obzvon
grep -c 'level=WARN\|level=ERROR' "$OUT/obzvon.log" | sed 's/^/obzvon log: warnings and errors: /' >&2 || true
log "summary in $SUMMARY; per-step text and JSON reports in $OUT"
