#!/usr/bin/env bash
# overload.sh — obzvon offered twice its call capacity (issue 10), in two
# phases, each on a fresh appliance run as the systemd unit runs it
# (GOMEMLIMIT from systemd/obzvon.service):
#
#   setup  twice the call setup rate: the highest rate obzvon answered with
#          no failure in MEASURE_SECONDS steps of MEASURE_RATES (or
#          SETUP_RATE, when given), offered for SECONDS to route 600 (echo:
#          the caller's 1 kHz tone comes back), calls held SETUP_HOLD;
#          calls.max_concurrent is what the RTP range carries for echo
#          calls (RTP_PORTS/2), so that the rate, not the cap, is tested;
#   media  twice the concurrent media calls: calls.max_concurrent = CAP,
#          bridged calls (route 8801 → the generator's echo trunk, RTP both
#          ways, recorded) at 2×CAP/HOLD calls/s held HOLD s, for SECONDS.
#
# For each phase it prints: the calls refused and how (the excess must get
# 503, and every 503 a Retry-After), the admitted calls' audio (packets
# lost by sequence number, legs that received none, payloads that are not
# the tone), obzvon's RSS peak against the unit's MemoryMax, and how long
# after the load stopped a probe call is answered again with its audio
# (must be under 5 s); with the machine's load. Exit 1 when a check fails.
#
# Knobs: PHASES="setup media" LOAD_SECONDS=60 SETUP_RATE= MEASURE_RATES="100 200
# 300 400 500 600 800 1000" MEASURE_SECONDS=10 SETUP_HOLD=2s CAP=100 HOLD=20
# LOSS_MAX_PCT=0 MEM_CEILING_MB=(MemoryMax) RECOVERY_MAX_S=5 RTP_MIN=14000
# RTP_PORTS=3000 (14000-16999: bench-campaign uses 17400-17999) OUT=DIR
# OBZVON_BIN=PATH
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PHASES=${PHASES:-"setup media"}
SECONDS_LOAD=${LOAD_SECONDS:-60}
SETUP_RATE=${SETUP_RATE:-}
MEASURE_RATES=${MEASURE_RATES:-"100 200 300 400 500 600 800 1000"}
MEASURE_SECONDS=${MEASURE_SECONDS:-10}
SETUP_HOLD=${SETUP_HOLD:-2s}
CAP=${CAP:-100}
HOLD=${HOLD:-20}
LOSS_MAX_PCT=${LOSS_MAX_PCT:-0}
RECOVERY_MAX_S=${RECOVERY_MAX_S:-5}
RTP_MIN=${RTP_MIN:-14000}
RTP_PORTS=${RTP_PORTS:-3000}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-overload.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-overload-work.XXXXXX)
log() { echo "overload: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"
psi() { sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }
machine() { echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure some avg10 $(psi) %"; }

# The unit's memory settings: the daemon runs with its GOMEMLIMIT, its RSS
# is held against MemoryMax.
UNIT=systemd/obzvon.service
GOMEMLIMIT_UNIT=$(sed -n 's/^Environment=GOMEMLIMIT=//p' "$UNIT")
MEMORY_MAX=$(sed -n 's/^MemoryMax=//p' "$UNIT")
to_mb() {
	python3 -c 'import re,sys
m = re.fullmatch(r"(\d+)([KMGT]?)(i?B?)", sys.argv[1].strip())
if not m: sys.exit("unreadable size " + sys.argv[1])
print(int(m.group(1)) * {"": 1/2**20, "K": 1/1024, "M": 1, "G": 1024, "T": 2**20}[m.group(2)])' "$1"
}
MEM_CEILING_MB=${MEM_CEILING_MB:-$(to_mb "$MEMORY_MAX")}

build_binaries
LOAD=bin/obzvon-load
pick_ports
write_prompt
write_config
BASE_CFG=$CFG

OBZVON_PID=
stop_obzvon() {
	[ -n "$OBZVON_PID" ] || return 0
	if kill -0 "$OBZVON_PID" 2>/dev/null; then
		kill -TERM "$OBZVON_PID" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$OBZVON_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$OBZVON_PID" 2>/dev/null || true
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

# start_obzvon NAME [MAX_CONCURRENT]: a fresh appliance (empty data
# directory), the unit's GOMEMLIMIT; max_concurrent when given, else the
# limit derived from the RTP range.
start_obzvon() {
	CFG=$WORK/obzvon-$1.toml
	cp "$BASE_CFG" "$CFG"
	if [ -n "${SETUP_LIMIT:-}" ]; then
		sed -i "s/^max_setup_rate = 0 .*/max_setup_rate = $SETUP_LIMIT/" "$CFG"
	fi
	if [ -n "${2:-}" ]; then
		sed -i "s/^drain_timeout = \"5s\"$/drain_timeout = \"5s\"\nmax_concurrent = $2/" "$CFG"
	fi
	cp "$CFG" "$OUT/obzvon-$1.toml"
	rm -rf "$WORK/data"
	echo "=== $1 ===" >>"$OUT/obzvon.log"
	GOMEMLIMIT=$GOMEMLIMIT_UNIT "$OBZVON" serve --config "$CFG" >>"$OUT/obzvon.log" 2>&1 &
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

# offer NAME NUMBER ARGS...: obzvon-load's caller role (and the echo
# trunk) against the running obzvon; the report is $OUT/NAME.json.
offer() {
	local name=$1 number=$2
	shift 2
	$LOAD --target "127.0.0.1:$SIP_PORT" --number "$number" --uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo \
		--obzvon-pid "$OBZVON_PID" --metrics-url "http://127.0.0.1:$HTTP_PORT/metrics" --progress 0 \
		--json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err" || log "$name: obzvon-load exited $?: $(tail -2 "$OUT/$name.err")"
}

# clean FILE: the calls of the report all answered, none lost audio.
clean() {
	python3 - "$1" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))["uac"]; r = u["rtp"]
ok = u["attempted"] > 0 and u["answered"] == u["attempted"] and r["lost"] == 0 and r["legs_without_rtp"] == 0 and r["tone_equal"] == r["received"] > 0
sys.exit(0 if ok else 1)
PY
}

# recovery NUMBER: from the end of the load (the generator gone, its calls
# hung up), probe calls of 1 s with the tone until one is answered with all
# its audio; prints the seconds from the load's end to that call's answer.
recovery() {
	local ended=$1 number=$2 i t0
	for i in $(seq 1 30); do
		t0=$(date +%s.%N)
		offer "probe-after" "$number" --rate 5 --total 1 --concurrent 1 --hold 1s --duration 1s --setup-timeout 3s
		if clean "$OUT/probe-after.json"; then
			python3 -c 'import json,sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1]) + json.load(open(sys.argv[3]))["uac"]["setup"]["p50_ms"]/1000))' "$ended" "$t0" "$OUT/probe-after.json"
			return 0
		fi
		cp "$OUT/probe-after.json" "$OUT/probe-after-failed-$i.json" 2>/dev/null || true
	done
	echo never
}

# verdict PHASE OFFERED_RATE: the phase's figures and checks.
verdict() {
	python3 - "$OUT" "$1" "$2" "$MEM_CEILING_MB" "$LOSS_MAX_PCT" "$RECOVERY_MAX_S" "$MEMORY_MAX" "$GOMEMLIMIT_UNIT" <<'PY'
import json, os, sys
out, phase, offered, ceiling, loss_max, rec_max, memmax, gomem = sys.argv[1:9]
ceiling, loss_max, rec_max = float(ceiling), float(loss_max), float(rec_max)
d = json.load(open(os.path.join(out, phase + ".json")))
u, o = d["uac"], d.get("obzvon") or {}
rec = open(os.path.join(out, phase + "-recovery.txt")).read().strip()
base = json.load(open(os.path.join(out, phase + "-probe-before.json")))["uac"]["setup"]["p50_ms"]
after = json.load(open(os.path.join(out, "probe-after.json")))["uac"]["setup"]["p50_ms"] if rec != "never" else None
ok = True
def fail(msg):
    global ok
    ok = False
    print("overload %s: FAIL: %s" % (phase, msg))
codes, retry = u.get("failed_by_code") or {}, u.get("failed_with_retry_after_by_code") or {}
refused = u["failed"] + u["timeouts"] + u["errors"]
n503, r503 = codes.get("503", 0), retry.get("503", 0)
print("overload %s: offered %s calls/s for %s: attempted %d, answered %d (%.1f%%), refused %d (%.1f%%): by code %s, timeouts %d, errors %d"
      % (phase, offered, d["config"].get("duration"), u["attempted"], u["answered"], 100.0 * u["answered"] / max(1, u["attempted"]),
         refused, 100.0 * refused / max(1, u["attempted"]), codes, u["timeouts"], u["errors"]))
print("overload %s: refusals that are 503: %.1f%% (%d of %d); 503s with Retry-After: %.1f%% (%d of %d)"
      % (phase, 100.0 * n503 / max(1, refused), n503, refused, 100.0 * r503 / max(1, n503), r503, n503))
m = (d.get("obzvon_metrics_window") or {}).get("counters") or {}
rej = {k: int(v) for k, v in m.items() if v and k.startswith(("obzvon_calls_rejected_total", "obzvon_rate_limited_total"))}
if rej:
    print("overload %s: obzvon's refusals (/metrics, over the generator's window): %s" % (phase, rej))
if not n503:
    fail("no 503 although twice the capacity was offered")
if refused != n503:
    fail("refusals other than 503 (timeouts, errors or other codes): the excess must be answered 503")
if r503 != n503:
    fail("503s without a valid Retry-After")
s = u["setup"]
print("overload %s: admitted calls' setup INVITE→200 p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (phase, s["p50_ms"], s["p99_ms"], s["max_ms"]))
for role in ("uac", "uas"):
    r = (d.get(role) or {}).get("rtp")
    if not r or not r.get("legs"):
        continue
    who = {"uac": "callers (tone echoed through obzvon)", "uas": "trunk (callers' tone via obzvon)"}[role]
    print("overload %s: audio at the %s: %d legs, received %d packets, lost %d of %d (%.3f%%), legs without RTP %d (%s of them sent, at most %s packets), payloads not the tone %d, 1 kHz share min %.3f"
          % (phase, who, r["legs"], r["received"], r["lost"], r["expected"], r["loss_pct"], r["legs_without_rtp"],
             r.get("silent_legs_that_sent", "?"), r.get("silent_leg_sent_max", "?"), r["received"] - r["tone_equal"], r["tone_share_min"]))
    if r["loss_pct"] > loss_max or r["legs_without_rtp"] or r["tone_equal"] != r["received"]:
        fail("admitted calls lost audio at the %s (loss above %.3f%%, a silent leg, or payloads not the tone)" % (who, loss_max))
    if r.get("sent_pct_of_schedule"):
        print("overload %s:   (the generator sent %.1f%% of its 50 packets/s schedule; %.1f%% of its time in gaps over 40 ms)"
              % (phase, r["sent_pct_of_schedule"], r.get("stalled_pct", 0)))
def counts(f):
    return {k: int(v) for k, v in (l.split() for l in open(os.path.join(out, f)))}
ub, ua = counts(phase + "-udp-before.txt"), counts(phase + "-udp-after.txt")
print("overload %s: RTP through obzvon (/metrics, window): in %d, out %d; the machine's UDP receive errors during the load: %s"
      % (phase, m.get('obzvon_rtp_packets_total{dir="in"}', 0), m.get('obzvon_rtp_packets_total{dir="out"}', 0),
         {k: ua[k] - ub[k] for k in ua}))
peak = o.get("rss_peak_kb", 0) / 1024
print("overload %s: obzvon RSS %.0f MB before, peak %.0f MB (MemoryMax %s = %.0f MB; GOMEMLIMIT %s), peak calls %s"
      % (phase, o.get("rss_base_kb", 0) / 1024, peak, memmax, ceiling, gomem, o.get("peak_calls")))
if not peak or peak > ceiling:
    fail("RSS not measured or over the memory ceiling")
print("overload %s: normal service again %s s after the load stopped (a 1 s call answered with all its audio; its setup %s ms, %.1f ms before the load)"
      % (phase, rec, "%.1f" % after if after is not None else "-", base))
if rec == "never" or float(rec) > rec_max:
    fail("not serving within %.0f s" % rec_max)
p = d.get("cpu_pressure_some_avg10") or {}
print("overload %s: machine: cpu pressure some avg10 start %.1f%%, max %.1f%%, end %.1f%%; generator %.1f%% of a core, obzvon %.1f%%"
      % (phase, p.get("start", -1), p.get("max", -1), p.get("end", -1), d["window"].get("generator_cpu_pct_of_core", -1), d["window"].get("obzvon_cpu_pct_of_core", -1)))
print("overload %s: %s" % (phase, "PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
}

# udp_errors: the machine's UDP receive errors so far (socket buffers
# full: the kernel dropped datagrams, whoever's they were).
udp_errors() {
	awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print "InErrors", $4; print "RcvbufErrors", $6}' /proc/net/snmp
}

# run_phase NAME NUMBER RATE MAX_CONCURRENT LOAD_ARGS...: a fresh obzvon,
# a probe call before, the load, the recovery, the verdict.
run_phase() {
	local name=$1 number=$2 rate=$3 maxc=$4 ended
	shift 4
	start_obzvon "$name" "$maxc"
	offer "probe" "$number" --rate 5 --total 1 --concurrent 1 --hold 1s --duration 1s --setup-timeout 3s
	cp "$OUT/probe.json" "$OUT/$name-probe-before.json"
	log "$name: obzvon pid $OBZVON_PID${maxc:+, max_concurrent $maxc}; offering $rate calls/s for ${SECONDS_LOAD}s ($(machine))"
	udp_errors >"$OUT/$name-udp-before.txt"
	offer "$name" "$number" --rate "$rate" --duration "${SECONDS_LOAD}s" "$@"
	ended=$(date +%s.%N)
	udp_errors >"$OUT/$name-udp-after.txt"
	recovery "$ended" "$number" >"$OUT/$name-recovery.txt"
	cp "$OUT/probe-after.json" "$OUT/$name-probe-after.json" 2>/dev/null || true
	stop_obzvon
	verdict "$name" "$rate" | tee -a "$OUT/verdict.txt"
}

log "SIP udp 127.0.0.1:$SIP_PORT, RTP $RTP_MIN-$RTP_MAX, trunk 127.0.0.1:$UAS_PORT; GOMEMLIMIT $GOMEMLIMIT_UNIT, ceiling $MEM_CEILING_MB MB; results in $OUT"
: >"$OUT/obzvon.log"
echo "# make overload $(date -u +%FT%TZ), $(nproc) cores, $(git describe --always --dirty 2>/dev/null || echo ?); at start: $(machine)" >"$OUT/verdict.txt"
status=0
for phase in $PHASES; do
	case $phase in
	setup)
		rate=$SETUP_RATE
		if [ -z "$rate" ]; then
			for r in $MEASURE_RATES; do
				start_obzvon "measure-$r" $((RTP_PORTS / 2))
				offer "measure-$r" 600 --rate "$r" --duration "${MEASURE_SECONDS}s" --hold "$SETUP_HOLD" --setup-timeout 10s
				stop_obzvon
				if ! clean "$OUT/measure-$r.json"; then
					log "measure: $r calls/s had failures or lost audio"
					break
				fi
				rate=$r
				log "measure: $r calls/s answered, all audio ($(machine))"
			done
			[ -n "$rate" ] || { log "measure: even ${MEASURE_RATES%% *} calls/s failed"; exit 1; }
			echo "overload setup: measured setup capacity $rate calls/s (highest of $MEASURE_RATES with every call answered with its audio, ${MEASURE_SECONDS} s steps)" | tee -a "$OUT/verdict.txt"
		fi
		# The appliance set up as an operator would after this measurement:
		# calls.max_setup_rate at the measured capacity.
		echo "overload setup: calls.max_setup_rate = $rate (the measured capacity)" | tee -a "$OUT/verdict.txt"
		SETUP_LIMIT=$rate run_phase setup 600 $((2 * rate)) $((RTP_PORTS / 2)) --hold "$SETUP_HOLD" --setup-timeout 10s || status=1
		;;
	media)
		run_phase media 8801 "$(awk "BEGIN{print 2*$CAP/$HOLD}")" "$CAP" --hold "${HOLD}s" --setup-timeout 10s || status=1
		;;
	*) log "unknown phase $phase (setup, media)"; exit 2 ;;
	esac
done
echo "overload: verdicts in $OUT/verdict.txt"
exit $status
