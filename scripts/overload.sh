#!/usr/bin/env bash
# overload.sh — obzvon offered twice the calls it admits.
#
# One obzvon with calls.max_concurrent = CAP; bin/obzvon-load offers
# bridged calls (route 8801 → its echo trunk, RTP both ways, recorded) at
# RATE calls/s held HOLD s, i.e. about RATE×HOLD = 2×CAP at once, for
# SECONDS s. Reported: calls answered and refused by code (the excess must
# be 503, with Retry-After, which dialer's TestRefusalsCarryRetryAfter
# checks), RTP loss of the admitted calls, obzvon's RSS peak (against
# MEM_CEILING_MB), and how long after the load stops a new call is
# answered again (must be under 5 s). Exit 1 when a check fails.
#
# Knobs: CAP=100 HOLD=20 SECONDS=60 (RATE=2×CAP/HOLD) MEM_CEILING_MB=1024
# RTP_MIN=14000 RTP_PORTS=4000 OUT=DIR OBZVON_BIN=PATH
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
CAP=${CAP:-100}
HOLD=${HOLD:-20}
SECONDS_LOAD=${SECONDS:-60}
RATE=${RATE:-$(awk "BEGIN{print 2*$CAP/$HOLD}")}
MEM_CEILING_MB=${MEM_CEILING_MB:-1024}
RTP_MIN=${RTP_MIN:-14000}
RTP_PORTS=${RTP_PORTS:-4000}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-overload.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-overload-work.XXXXXX)
log() { echo "overload: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"
build_binaries
LOAD=bin/obzvon-load
pick_ports
SOCK=$WORK/data/obzvon.sock
write_prompt
write_config
sed -i "s/^drain_timeout = \"5s\"$/drain_timeout = \"5s\"\nmax_concurrent = $CAP/" "$CFG"
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
	curl -fsS --unix-socket "$SOCK" http://x/readyz >/dev/null 2>&1 && break
	sleep 0.2
done
log "obzvon pid $OBZVON_PID, max_concurrent $CAP; offering $RATE calls/s held ${HOLD}s for ${SECONDS_LOAD}s; results in $OUT"
cat /proc/pressure/cpu >"$OUT/psi-before.txt" 2>/dev/null || true
$LOAD --target "127.0.0.1:$SIP_PORT" --number 8801 --rate "$RATE" --hold "${HOLD}s" --duration "${SECONDS_LOAD}s" \
	--setup-timeout 10s --uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo --obzvon-pid "$OBZVON_PID" \
	--progress 0 --json "$OUT/load.json" >"$OUT/load.txt" 2>"$OUT/load.err" || log "obzvon-load exited $?"
ended=$(date +%s.%N)
cat /proc/pressure/cpu >"$OUT/psi-after.txt" 2>/dev/null || true
# Serves again: the first call answered after the load stopped.
recovered=
for i in $(seq 1 30); do
	if $LOAD --target "127.0.0.1:$SIP_PORT" --number 8801 --rate 5 --total 1 --hold 1s --duration 1s --setup-timeout 3s \
		--uas-listen "127.0.0.1:$UAS_PORT" --uas-mode echo --progress 0 --json "$OUT/probe.json" >/dev/null 2>&1 &&
		python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["uac"]["answered"] == 1 else 1)' "$OUT/probe.json"; then
		recovered=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $ended}")
		break
	fi
done
python3 - "$OUT/load.json" "$CAP" "$MEM_CEILING_MB" "${recovered:-never}" <<'PY' | tee "$OUT/verdict.txt"
import json, sys
d = json.load(open(sys.argv[1])); cap = int(sys.argv[2]); ceiling = float(sys.argv[3]); rec = sys.argv[4]
u = d["uac"]; o = d.get("obzvon") or {}; rtp = u.get("rtp") or {}
codes = u.get("failed_by_code") or {}
ok = True
print("overload: attempted %d answered %d failed %d (by code %s) timeouts %d errors %d" % (u["attempted"], u["answered"], u["failed"], codes, u["timeouts"], u["errors"]))
other = {c: n for c, n in codes.items() if c != "503"}
if other or u["timeouts"] or u["errors"]:
    print("overload: FAIL: refusals other than 503, or timeouts/errors"); ok = False
if not codes.get("503"):
    print("overload: FAIL: no 503 although twice the capacity was offered"); ok = False
print("overload: admitted calls' RTP: loss %.3f%% (per-leg min %s packets)" % (rtp.get("loss_pct", -1), rtp.get("per_leg_received_min")))
if rtp.get("loss_pct", 100) > 0.1:
    print("overload: FAIL: admitted calls lost audio"); ok = False
peak = o.get("rss_peak_kb", 0) / 1024
print("overload: obzvon RSS peak %.0f MB (ceiling %.0f MB), peak calls %s" % (peak, ceiling, o.get("peak_calls")))
if peak > ceiling:
    print("overload: FAIL: over the memory ceiling"); ok = False
print("overload: first call answered %s s after the load stopped" % rec)
if rec == "never" or float(rec) > 5:
    print("overload: FAIL: not serving within 5 s"); ok = False
print("overload: PSI %s" % json.dumps(d.get("cpu_pressure_some_avg10")))
sys.exit(0 if ok else 1)
PY
