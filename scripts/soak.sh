#!/usr/bin/env bash
# soak.sh — obzvon under a steady mixed load for SOAK_MINUTES (default
# 30): does any resource grow?
#
# One obzvon (bin/obzvon serve, loopback only) with its registrar, the
# journal and recording on, driven at a steady rate by:
#   - bin/obzvon-load as callers and echo trunk: CALL_RATE calls/s to route
#     8801 (dial → trunk: bridged, recorded in stereo), RTP both ways,
#     each held CALL_HOLD s (about CALL_RATE×CALL_HOLD calls up at once);
#   - bin/obzvon-load as PHONES operator softphones that REGISTER with
#     digest and refresh every 30 s (Expires 60);
#   - an API loop over the admin socket: a registry search (10 000
#     synthetic persons) and an appeal created every API_PERIOD s.
# Every SAMPLE s the sampler records, into OUT/samples.csv: goroutines
# (pprof), open fds (/proc), live heap after a forced GC, RSS, the journal
# directory's and the recordings' size, call records and appeals written.
# At the end internal/soakplot draws OUT/soak.png and fails (exit 1) when
# goroutines, fds, heap or RSS grow linearly over the steady second half,
# or the journal grows faster than the records written into it.
#
# Knobs: SOAK_MINUTES=30 SAMPLE=10 CALL_RATE=2 CALL_HOLD=10 PHONES=20
# API_PERIOD=1 RTP_MIN=14000 RTP_PORTS=4000 OUT=DIR OBZVON_BIN=PATH
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
SOAK_MINUTES=${SOAK_MINUTES:-30}
SAMPLE=${SAMPLE:-10}
CALL_RATE=${CALL_RATE:-2}
CALL_HOLD=${CALL_HOLD:-10}
PHONES=${PHONES:-20}
API_PERIOD=${API_PERIOD:-1}
RTP_MIN=${RTP_MIN:-14000}
RTP_PORTS=${RTP_PORTS:-4000}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-soak.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-soak-work.XXXXXX)

log() { echo "soak: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"

build_binaries
LOAD=bin/obzvon-load
pick_ports
SOCK=$WORK/data/obzvon.sock
write_prompt
write_config
cp "$CFG" "$OUT/obzvon.toml"

PIDS=()
OBZVON_PID=
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
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
log "obzvon pid $OBZVON_PID; results in $OUT"

api() { curl -fsS --max-time 30 --unix-socket "$SOCK" "$@"; }
J="--dir $WORK/data/journal"

# Data: a registry, the catalog, operator accounts with SIP secrets.
"$OBZVON" registry generate --rows 10000 "$WORK/registry.csv" >/dev/null
"$OBZVON" registry load $J "$WORK/registry.csv" >/dev/null
"$OBZVON" catalog load $J --default >/dev/null
: >"$WORK/phones.txt"
for i in $(seq 1 "$PHONES"); do
	"$OBZVON" agent add $J --json --name "Оператор $i" --role operator_l1 --ext "$((2000 + i))" "soak$i" |
		python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["login"], a["sip_secret"])' >>"$WORK/phones.txt"
done
TOPIC=$(api "http://x/api/v1/catalog/topics?kind=consultation" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
log "loaded 10000 persons, the catalog, $PHONES operator accounts"

SECONDS_TOTAL=$((SOAK_MINUTES * 60))
$LOAD --target "127.0.0.1:$SIP_PORT" --number 8801 --rate "$CALL_RATE" --hold "${CALL_HOLD}s" \
	--duration "${SECONDS_TOTAL}s" --setup-timeout 10s --uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo \
	--progress 0 --json "$OUT/calls.json" >"$OUT/calls.txt" 2>"$OUT/calls.err" &
PIDS+=($!)
$LOAD --phones "$WORK/phones.txt" --phone-registrar "127.0.0.1:$SIP_PORT" --phone-expires 60s \
	--duration "${SECONDS_TOTAL}s" --progress 0 --json "$OUT/phones.json" >"$OUT/phones.txt" 2>"$OUT/phones.err" &
PIDS+=($!)

# The API loop: a registry search and an appeal every API_PERIOD s.
(
	n=0
	surnames=(Иван Петр Смирн Кузн Попов Соколов Лебед Козлов Новик Морозов)
	end=$((SECONDS + SECONDS_TOTAL))
	while [ $SECONDS -lt $end ]; do
		s=${surnames[$((n % 10))]}
		api -G "http://x/api/v1/registry/persons" --data-urlencode "surname=$s" >/dev/null || echo "search failed" >&2
		api -H 'Content-Type: application/json' -d "{\"channel\":\"phone\",\"kind\":\"consultation\",\"topic\":\"$TOPIC\",\"text\":\"soak $n\",\"phone\":\"+7916$(printf %07d $n)\"}" \
			http://x/api/v1/appeals >/dev/null && echo ok >>"$WORK/appeals.count" || echo "appeal failed" >&2
		n=$((n + 1))
		sleep "$API_PERIOD"
	done
) 2>"$OUT/api.err" &
PIDS+=($!)

# The sampler.
# Besides: RSS split into anonymous memory (the Go heap, stacks, runtime)
# and file pages (Badger's mmapped memtables, tables and value log, which
# the kernel can drop), the pages of the journal's mappings alone, and the
# Go runtime's view (heap spans held from the OS, stacks): an RSS that grows
# while the live heap is flat is told apart from a leak by these.
echo "t_s,goroutines,fds,heap_mb,rss_mb,journal_mb,recordings_mb,calls,appeals,rss_anon_mb,rss_file_mb,journal_mapped_mb,go_heap_inuse_mb,go_heap_held_mb,go_stack_mb" >"$OUT/samples.csv"
start=$SECONDS
while [ $((SECONDS - start)) -le "$SECONDS_TOTAL" ]; do
	t=$((SECONDS - start))
	g=$(api "http://x/debug/pprof/goroutine?debug=1" | sed -n '1s/^goroutine profile: total \([0-9]*\)$/\1/p')
	api "http://x/debug/pprof/heap?gc=1&debug=1" | sed -n 's/^# \(HeapAlloc\|HeapInuse\|HeapSys\|HeapReleased\|Stack\) = \([0-9]*\).*$/\1 \2/p' >"$WORK/memstats"
	heap=$(awk '$1 == "HeapAlloc" {print $2}' "$WORK/memstats")
	gomem=$(awk '{v[$1] = $2} END {printf "%.2f,%.2f,%.2f", v["HeapInuse"]/1048576, (v["HeapSys"]-v["HeapReleased"])/1048576, v["Stack"]/1048576}' "$WORK/memstats")
	rsssplit=$(awk '$1 == "RssAnon:" {a = $2} $1 == "RssFile:" {f = $2} END {printf "%.2f,%.2f", a/1024, f/1024}' "/proc/$OBZVON_PID/status")
	jmap=$(awk -v dir="$WORK/data/journal/" '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {inj = NF >= 6 && index($6, dir) == 1; next} inj && $1 == "Rss:" {kb += $2} END {printf "%.2f", kb/1024}' "/proc/$OBZVON_PID/smaps")
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$OBZVON_PID/status")
	fds=$(ls "/proc/$OBZVON_PID/fd" | wc -l)
	jb=$(du -sB1 "$WORK/data/journal" | cut -f1)   # allocated: Badger preallocates its logs sparsely
	rb=$(du -sB1 "$WORK/data/recordings" 2>/dev/null | cut -f1 || echo 0)
	calls=$(curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^obzvon_calls_total/ {s += $2} END {print s + 0}')
	appeals=$(wc -l <"$WORK/appeals.count" 2>/dev/null || echo 0)
	echo "$t,$g,$fds,$(awk "BEGIN{printf \"%.2f\", $heap/1048576}"),$(awk "BEGIN{printf \"%.2f\", $rss/1024}"),$(awk "BEGIN{printf \"%.2f\", $jb/1048576}"),$(awk "BEGIN{printf \"%.2f\", ${rb:-0}/1048576}"),$calls,$appeals,$rsssplit,$jmap,$gomem" >>"$OUT/samples.csv"
	log "t=${t}s goroutines $g fds $fds heap $((heap / 1048576)) MB RSS $((rss / 1024)) MB journal $((jb / 1048576)) MB calls $calls appeals $appeals"
	kill -0 "$OBZVON_PID" 2>/dev/null || { log "obzvon died"; tail -20 "$OUT/obzvon.log" >&2; exit 1; }
	sleep "$SAMPLE"
done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
python3 - "$OUT/calls.json" "$OUT/phones.json" <<'PY' >&2 || true
import json, sys
for f in sys.argv[1:]:
    try:
        d = json.load(open(f))
    except Exception as e:
        print("soak: %s: %s" % (f, e)); continue
    u = d.get("uac") or {}
    if u:
        print("soak: calls: attempted %d answered %d failed %d timeouts %d" % (u.get("attempted", 0), u.get("answered", 0), u.get("failed", 0), u.get("timeouts", 0)))
    p = d.get("phones") or {}
    if p:
        print("soak: phones: %s" % json.dumps(p)[:300])
PY
log "api errors: $(wc -l <"$OUT/api.err")"
$GO run ./internal/soakplot "$OUT/samples.csv" "$OUT/soak.png" | tee "$OUT/verdict.txt"
