#!/usr/bin/env bash
# bench-acd.sh — issue 7's ACD benchmark on loopback (make bench-acd):
#
# CALLERS callers over DURATION seconds into two queues (routes 8801 → q1,
# 8802 → q2) served by OPERATORS operators on session legs, every operator
# a member of both. The appliance is bin/obzvon serve with a config of its
# own; the operators are accounts made with `obzvon agent add --json`, their
# phones are bin/obzvon-load --phones (register with digest, auto-answer
# the session leg, send their own tone, time each customer's audio), work
# starts with `obzvon agent start LOGIN`; the callers are bin/obzvon-load in
# queue mode (400 Hz tone, talk TALK once an operator is heard, give up
# after PATIENCE).
#
# Each run, on a fresh appliance, goes through five phases, each measured
# with `obzvon-load sample` (the appliance's CPU, RSS, heap, goroutines,
# queue and operator gauges; the machine's CPU pressure and load average):
#
#   idle       phones registered, nobody working
#   operators  OPERATORS operators on session legs, no callers
#   waiting    WAITING callers waiting, every operator paused
#   load       the callers of the benchmark (the window is the placing period)
#   after      the load over: back to operators on session legs, no callers
#
# The load phase is framed by two scrapes of /metrics (the routing
# decisions' histogram); at the end the journal's ACD events and call
# records are exported, and `obzvon-load acd-report` joins them with the
# generator's events into RUN/summary.json and a table; with RUNS > 1 the
# ranges over the runs go to OUT/summary.txt and OUT/summary.json.
#
# Knobs (environment):
#   QUICK=1           a short run: 500 callers over 60 s, 50 waiting, 10 s phases, 1 run
#   RUNS=2            full runs (each on a fresh appliance)
#   OPERATORS=50 CALLERS=5000 DURATION=600 (seconds)
#   TALK=exp:5s PATIENCE=exp:60s WRAP_UP=2s     talk time, patience, the queues' wrap-up
#   WAITING=200       callers waiting in the "waiting" phase
#   PHASE=30          seconds of the idle, operators, waiting and after phases
#   RTP_MIN=14000     the appliance's RTP range RTP_MIN..RTP_MIN+3399; SIP and HTTP
#                     take free ports in 17400..17999 (the load benchmark band)
#   OUT=DIR           results (default: a new /tmp/obzvon-bench-acd.*)
#   KEEP=1            keep each run's data directory (journal, recordings)
#   OBZVON_BIN=PATH   use this obzvon binary instead of building bin/obzvon
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	CALLERS=${CALLERS:-500}
	DURATION=${DURATION:-60}
	WAITING=${WAITING:-50}
	PHASE=${PHASE:-10}
	RUNS=${RUNS:-1}
fi
RUNS=${RUNS:-2}
OPERATORS=${OPERATORS:-50}
CALLERS=${CALLERS:-5000}
DURATION=${DURATION:-600}
TALK=${TALK:-exp:5s}
PATIENCE=${PATIENCE:-exp:60s}
WRAP_UP=${WRAP_UP:-2s}
WAITING=${WAITING:-200}
PHASE=${PHASE:-30}
RTP_MIN=${RTP_MIN:-14000}
RTP_MAX=$((RTP_MIN + 3399))
OUT=${OUT:-$(mktemp -d /tmp/obzvon-bench-acd.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-bench-acd-work.XXXXXX)
RATE=$(python3 -c "print(round($CALLERS / $DURATION, 6))")

log() { echo "bench-acd: $(date +%T) $*" >&2; }
die() { log "$*"; exit 1; }
psi() { sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }
machine() { echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure some avg10 $(psi) %"; }
. "$(dirname "$0")/bench-lib.sh"

# band_port prints a port of 17400..17999 free for UDP and TCP on
# 127.0.0.1 a moment ago (the load benchmark band), other than "$@".
band_port() {
	python3 - "$@" <<'PY'
import random, socket, sys
taken = set(int(x) for x in sys.argv[1:])
for _ in range(500):
    p = random.randint(17400, 17999)
    if p in taken:
        continue
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", p))
        u.close(); t.close()
    except OSError:
        continue
    print(p); sys.exit(0)
sys.exit("no free port in 17400..17999")
PY
}

# Processes this script started, by PID; stopped on exit.
OBZVON_PID= PHONES_PID= WAITERS_PID= SAMPLER_PID= CALLERS_PID=
stop_pid() { # stop_pid PID SIGNAL SECONDS: signal, wait, then SIGKILL
	local pid=$1 sig=$2 secs=$3
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill "-$sig" "$pid" 2>/dev/null || true
		for _ in $(seq 1 $((secs * 5))); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid still running ${secs} s after SIG$sig; SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$SAMPLER_PID" INT 5
	stop_pid "$CALLERS_PID" INT 30
	stop_pid "$WAITERS_PID" INT 20
	stop_pid "$PHONES_PID" INT 20
	stop_pid "$OBZVON_PID" TERM 30
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_binaries
LOAD=bin/obzvon-load
COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)
log "results in $OUT; $RUNS run(s) of $CALLERS callers over $DURATION s ($RATE/s), $OPERATORS operators; $(machine)"

# The operators' accounts, made once into a template journal that each
# run copies: digest secrets in phones.jsonl (obzvon agent add --json).
TPL=$WORK/template
mkdir -p "$TPL"
LOGINS=()
log "creating $OPERATORS operator accounts (obzvon agent add --json)"
for i in $(seq 1 "$OPERATORS"); do
	login=$(printf 'op%03d' "$i")
	LOGINS+=("$login")
	"$OBZVON" agent add --dir "$TPL/journal" --json --name "Оператор $i" --role operator_l1 \
		--ext $((1000 + i)) --queue q1 --queue q2 "$login" >>"$WORK/phones.jsonl" 2>>"$WORK/agent-add.err" ||
		die "obzvon agent add $login failed: $(tail -3 "$WORK/agent-add.err")"
done

# metrics_to FILE: a scrape of /metrics with its time on the first line.
metrics_to() { { echo "# scraped_unix_ns $(date +%s%N)"; curl -fsS "$METRICS"; } >"$1"; }
# goroutines_to FILE: the appliance's goroutine profile (admin socket).
goroutines_to() { curl -fsS --unix-socket "$DATA/obzvon.sock" 'http://obzvon/debug/pprof/goroutine?debug=1' >"$1" 2>/dev/null || true; }
# heap_to FILE: the appliance's heap profile right after a GC (live heap).
heap_to() { curl -fsS --unix-socket "$DATA/obzvon.sock" 'http://obzvon/debug/pprof/heap?gc=1&debug=1' >"$1" 2>/dev/null || true; }
# waiting_now: callers waiting in all queues.
waiting_now() { curl -fsS "$METRICS" | awk '/^obzvon_queue_waiting\{/ {s += $2} END {print s + 0}'; }
# agents_in STATE: operators in that state (obzvon agent status --json).
agents_in() {
	"$OBZVON" agent status --json --dir "$DATA/journal" 2>/dev/null | grep -o "\"state\":\"$1\"" | wc -l || true
}
# wait_for DESCRIPTION SECONDS COMMAND…: poll every 0.5 s until COMMAND succeeds.
wait_for() {
	local what=$1 secs=$2
	shift 2
	for _ in $(seq 1 $((secs * 2))); do
		"$@" && return 0
		sleep 0.5
	done
	die "timed out after ${secs} s waiting for $what"
}
all_in() { [ "$(agents_in "$1")" -ge "$OPERATORS" ]; }
waiting_is() { [ "$(waiting_now)" -eq "$1" ]; }
waiting_at_least() { [ "$(waiting_now)" -ge "$1" ]; }
sample() { # sample LABEL SECONDS: measure the appliance for SECONDS
	"$LOAD" sample --pid "$OBZVON_PID" --for "${2}s" --metrics-url "$METRICS" --label "$1" --json "$RUN/sample-$1.json" 2>>"$RUN/sample.err" ||
		log "sample $1 failed: $(tail -2 "$RUN/sample.err")"
}
each_agent() { # each_agent VERB [ARGS…]: obzvon agent VERB LOGIN ARGS for every operator
	local verb=$1 login
	shift
	for login in "${LOGINS[@]}"; do
		"$OBZVON" agent "$verb" --dir "$DATA/journal" "$login" "$@" >/dev/null 2>>"$RUN/agent.err" || return 1
	done
}

run_once() {
	local n=$1
	RUN=$OUT/run$n
	DATA=$WORK/data$n
	mkdir -p "$RUN"
	cp -a "$TPL" "$DATA"
	SIP_PORT=$(band_port)
	HTTP_PORT=$(band_port "$SIP_PORT")
	METRICS=http://127.0.0.1:$HTTP_PORT/metrics
	CFG=$RUN/obzvon.toml
	local q strategy
	{
		cat <<TOML
[log]
level = "warn"

[sip]
host = "127.0.0.1"
port = $SIP_PORT
transports = ["udp"]

[rtp]
ip = "127.0.0.1"
port_min = $RTP_MIN
port_max = $RTP_MAX

[http]
listen = "127.0.0.1:$HTTP_PORT"

[data]
dir = "$DATA"

[calls]
drain_timeout = "5s"

[acd]
pause_reasons = ["обед"]
agent_rtp_timeout = "30s"
TOML
		for q in q1:longest_idle:8801 q2:round_robin:8802; do
			IFS=: read -r name strategy number <<<"$q"
			cat <<TOML

[[queue]]
name = "$name"
strategy = "$strategy"
greeting = "queue-greeting"
music = "moh"
announce_position = true
announce_wait = true
announce_every = "30s"
wrap_up = "$WRAP_UP"
service_level = "80/20"

[[route]]
name = "$name"
match = "$number"
action = "queue"
queue = "$name"
TOML
		done
	} >"$CFG"
	"$OBZVON" check-config "$CFG" >/dev/null || die "check-config $CFG failed"

	log "run $n: obzvon on SIP udp 127.0.0.1:$SIP_PORT, HTTP $HTTP_PORT, RTP $RTP_MIN-$RTP_MAX; $(machine)"
	"$OBZVON" serve --config "$CFG" >"$RUN/obzvon.log" 2>&1 &
	OBZVON_PID=$!
	for _ in $(seq 1 150); do
		kill -0 "$OBZVON_PID" 2>/dev/null || die "obzvon exited during start-up: $(tail -5 "$RUN/obzvon.log")"
		curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 || die "obzvon not ready after 30 s"

	# The phones stay up for the whole run (SIGINT ends them: BYE, unregister).
	local phones_s=$((4 * PHASE + DURATION + 900))
	rm -f "$RUN/phones.ready"
	"$LOAD" --phones "$WORK/phones.jsonl" --phone-registrar "127.0.0.1:$SIP_PORT" --phone-spread 2s \
		--duration "${phones_s}s" --ready-file "$RUN/phones.ready" --events "$RUN/phones.events.jsonl" \
		--json "$RUN/phones.json" --progress 60s >"$RUN/phones.txt" 2>"$RUN/phones.err" &
	PHONES_PID=$!
	wait_for "the phones to register" 60 test -f "$RUN/phones.ready"
	grep -q "registered $OPERATORS of $OPERATORS" "$RUN/phones.ready" || die "phones: $(cat "$RUN/phones.ready")"

	log "run $n: phase idle ($PHASE s): phones registered, nobody working"
	sample idle "$PHASE"

	log "run $n: obzvon agent start for $OPERATORS operators (session legs)"
	for _ in $(seq 1 20); do each_agent start && break; sleep 1; done
	wait_for "$OPERATORS operators ready" 90 all_in ready
	sleep 2
	log "run $n: phase operators ($PHASE s): $OPERATORS on session legs, no callers"
	sample operators "$PHASE"
	goroutines_to "$RUN/goroutines-before.txt"
	heap_to "$RUN/heap-before.txt"

	log "run $n: phase waiting: every operator paused, $WAITING callers waiting"
	each_agent pause обед || die "obzvon agent pause failed: $(tail -2 "$RUN/agent.err")"
	wait_for "$OPERATORS operators paused" 30 all_in paused
	local ramp=$(((WAITING + 9) / 10))
	"$LOAD" --target "127.0.0.1:$SIP_PORT" --number 8801,8802 --rate 10 --total "$WAITING" --queue \
		--duration "$((ramp + 1))s" --deadline "$((ramp + PHASE + 120))s" --events "$RUN/waiting.events.jsonl" \
		--json "$RUN/waiting.json" --progress 0 >"$RUN/waiting.txt" 2>"$RUN/waiting.err" &
	WAITERS_PID=$!
	wait_for "$WAITING callers waiting" $((ramp + 60)) waiting_at_least "$WAITING"
	sleep 2
	sample waiting "$PHASE"
	stop_pid "$WAITERS_PID" INT 30
	WAITERS_PID=
	wait_for "the waiting callers to leave" 60 waiting_is 0
	each_agent ready || die "obzvon agent ready failed: $(tail -2 "$RUN/agent.err")"
	wait_for "$OPERATORS operators ready" 30 all_in ready
	sleep 2

	log "run $n: phase load: $CALLERS callers over $DURATION s ($RATE/s), talk $TALK, patience $PATIENCE; $(machine)"
	metrics_to "$RUN/metrics-before.prom"
	local load_start load_end
	load_start=$(date +%s%N)
	"$LOAD" sample --pid "$OBZVON_PID" --for "${DURATION}s" --metrics-url "$METRICS" --label load \
		--json "$RUN/sample-load.json" 2>>"$RUN/sample.err" &
	SAMPLER_PID=$!
	"$LOAD" --target "127.0.0.1:$SIP_PORT" --number 8801,8802 --rate "$RATE" --total "$CALLERS" \
		--talk "$TALK" --patience "$PATIENCE" --duration "${DURATION}s" --events "$RUN/callers.events.jsonl" \
		--obzvon-pid "$OBZVON_PID" --metrics-url "$METRICS" --progress 60s \
		--json "$RUN/callers.json" >"$RUN/callers.txt" 2>"$RUN/callers.err" &
	CALLERS_PID=$!
	wait "$SAMPLER_PID" || true # the placing period
	SAMPLER_PID=
	metrics_to "$RUN/metrics-placed.prom"
	wait "$CALLERS_PID" || log "callers: obzvon-load failed: $(tail -3 "$RUN/callers.err")"
	CALLERS_PID=
	load_end=$(date +%s%N)
	metrics_to "$RUN/metrics-after.prom"
	kill -0 "$OBZVON_PID" 2>/dev/null || die "obzvon died during the load"

	log "run $n: phase after ($PHASE s): the load over; $(machine)"
	wait_for "the queues to empty" 60 waiting_is 0
	wait_for "$OPERATORS operators ready again" 60 all_in ready || true
	sample after "$PHASE"
	goroutines_to "$RUN/goroutines-after.txt"
	heap_to "$RUN/heap-after.txt"
	"$OBZVON" agent status --json --dir "$DATA/journal" >"$RUN/agents-after.json" 2>/dev/null || true
	"$OBZVON" queue status --json --dir "$DATA/journal" >"$RUN/queues-after.json" 2>/dev/null || true

	stop_pid "$PHONES_PID" INT 30
	PHONES_PID=
	stop_pid "$OBZVON_PID" TERM 30
	OBZVON_PID=
	"$OBZVON" journal events --dir "$DATA/journal" --stream acd >"$RUN/acd-events.jsonl"
	"$OBZVON" journal calls --dir "$DATA/journal" --json >"$RUN/calls.json"
	cat >"$RUN/bench.json" <<JSON
{"run": $n, "commit": "$COMMIT", "quick": $([ "$QUICK" = 1 ] && echo true || echo false), "operators": $OPERATORS, "queues": ["q1", "q2"],
 "callers": $CALLERS, "rate": $RATE, "duration_s": $DURATION, "talk": "$TALK", "patience": "$PATIENCE", "wrap_up": "$WRAP_UP",
 "waiting_callers": $WAITING, "load_start_unix_ns": $load_start, "load_end_unix_ns": $load_end}
JSON
	grep -c 'level=WARN\|level=ERROR' "$RUN/obzvon.log" | sed 's/^/obzvon log: warnings and errors: /' >"$RUN/obzvon-log-count.txt" || true
	if [ "${KEEP:-0}" = 1 ]; then
		mv "$DATA" "$RUN/data"
	else
		du -sh "$DATA/recordings" 2>/dev/null | sed 's/^/recordings: /' >>"$RUN/obzvon-log-count.txt" || true
		rm -rf "$DATA"
	fi
	"$LOAD" acd-report --dir "$RUN" | tee "$RUN/summary.txt"
}

{
	echo "# obzvon bench-acd $(date -u +%FT%TZ), $COMMIT, $(nproc) cores"
	echo "# at start: $(machine)"
} >"$OUT/summary.txt"
dirs=()
for n in $(seq 1 "$RUNS"); do
	run_once "$n"
	dirs+=("$OUT/run$n")
done
log "BenchmarkRoute (the ACD's CPU per call, no sockets) for reference"
$GO test -run '^$' -bench 'BenchmarkRoute$' -benchtime 1s -count 3 ./acd >"$OUT/bench-route.txt" 2>&1 || true
{
	"$LOAD" acd-report --combine --json "$OUT/summary.json" "${dirs[@]}"
	grep '^BenchmarkRoute' "$OUT/bench-route.txt" | sed 's/^/# /'
	echo "# at end: $(machine)"
} | tee -a "$OUT/summary.txt"
log "summary in $OUT/summary.txt and $OUT/summary.json; per run in $OUT/run*/"
