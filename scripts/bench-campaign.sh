#!/usr/bin/env bash
# bench-campaign.sh — issue 8 benchmark: a campaign day scaled down ten
# times, run in real time on loopback, against the pacing simulator's
# prediction for the same scenario.
#
#   obzvon        one campaign (MODE, default predictive; AMD hangs up
#                 machines) of the screening script, its operators on
#                 session legs, dialing through one [[trunk]];
#   obzvon-load   the trunk (--uas-mode campaign: a live answer with
#                 probability LIVE after U(3,15) s, the rest no answer /
#                 machine / busy 0.5/0.3/0.2, talk exp(120 s), every time
#                 divided by 10: talk mean 12 s) and AGENTS operator phones
#                 (auto-answer); wrap-up 1.5 s; the grace a live answer waits
#                 for an operator stays 2 s.
#
# After WARMUP minutes (the simulator's 30 min / 10) it measures MINUTES:
# occupancy (talk + wrap-up over working time, from
# obzvon_agent_state_seconds_total), abandonment (abandoned / live answers,
# from obzvon_campaign_attempts_total), the safe-harbor message's start
# after the answer as the trunk heard it (p50/p99, from obzvon-load's
# events), dials per second, and prints the simulator's figures for the
# same scaled scenario beside them. Every run records /proc/pressure/cpu.
#
# The same scenario means the appliance's answering-machine detection too:
# a live answer reaches an operator only once detection has passed it on,
# and detection listens to real audio, so its time is not divided by 10
# (obzvon-load's live answer is a steady tone, no speech: "unknown" after
# amd_initial_silence, 1 s; its machine's greeting is Russian speech:
# "machine" after about 1.9 s). The simulator is given the run's own mean
# decision times (obzvon_amd_decision_seconds by result over the measured
# minutes; human and unknown are what a person waits), the trunk's
# exponential talk, the campaign's priors and a day that began with the
# warm-up (--amd-live, --amd-machine, --talk-dist exp, --priors,
# --day-from-warmup). The reference's scaled day without them (detection
# free for a person, 3 s for a machine, divided by 10) is printed too.
#
# Knobs: AGENTS=25 MINUTES=20 WARMUP=3 LIVE=0.3 MODE=predictive SEEDS=5
#        RTP_MIN=17400 RTP_PORTS=600 OUT=DIR OBZVON_BIN=PATH
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
AGENTS=${AGENTS:-25}
MINUTES=${MINUTES:-20}
WARMUP=${WARMUP:-3}
LIVE=${LIVE:-0.3}
MODE=${MODE:-predictive}
SEEDS=${SEEDS:-5}
RTP_MIN=${RTP_MIN:-17400} # the top of the load benchmarks' band: bench-acd takes 14000-17399
RTP_PORTS=${RTP_PORTS:-600}
CONTACTS=${CONTACTS:-$((AGENTS * (MINUTES + WARMUP) * 60 / 2))}
OUT=${OUT:-$(mktemp -d /tmp/obzvon-bench-campaign.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/obzvon-bench-campaign-work.XXXXXX)

log() { echo "bench-campaign: $*" >&2; }
. "$(dirname "$0")/bench-lib.sh"
psi() { sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || echo "?"; }

build_binaries
pick_ports
J=$WORK/data/journal
SOCK=$WORK/data/obzvon.sock
api() { curl -sS --unix-socket "$SOCK" -H 'Content-Type: application/json' "$@"; }

OBZVON_PID= LOAD_PID=
cleanup() {
	[ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null || true
	if [ -n "$OBZVON_PID" ] && kill -0 "$OBZVON_PID" 2>/dev/null; then
		kill -TERM "$OBZVON_PID" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$OBZVON_PID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$OBZVON_PID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

log "$AGENTS operators, $CONTACTS contacts, mode $MODE, p=$LIVE; warm-up $WARMUP min, measured $MINUTES min; results in $OUT"
: >"$WORK/phones.jsonl"
for i in $(seq 1 "$AGENTS"); do
	n=$(printf %02d "$i")
	"$OBZVON" agent add --dir "$J" --json --name "Оператор $n" --role operator_l1 --ext "2$n" --queue bench "op$n" >>"$WORK/phones.jsonl"
done

CFG=$WORK/obzvon.toml
cat >"$CFG" <<TOML
[log]
level = "warn"
[sip]
host = "127.0.0.1"
port = $SIP_PORT
transports = ["udp"]
[rtp]
ip = "127.0.0.1"
port_min = $RTP_MIN
port_max = $((RTP_MIN + RTP_PORTS - 1))
[http]
listen = "127.0.0.1:$HTTP_PORT"
open_metrics = true
[data]
dir = "$WORK/data"
[calls]
ring_timeout = "2s"
drain_timeout = "5s"
[[trunk]]
name = "carrier"
address = "127.0.0.1:$UAS_PORT"
caller_id = "78652000000"
TOML
cp "$CFG" "$OUT/obzvon.toml"

cat >"$WORK/settings.json" <<JSON
{"weekdays": "00:00-24:00", "weekend": "00:00-24:00", "ring_timeout": "2s", "amd": "hangup",
 "amd_initial_silence": "1s", "wrap_up": "1.5s", "card_timeout": "2s",
 "prior_live": $LIVE, "prior_ring": "900ms", "prior_talk": "12s", "prior_wrap": "1.5s"}
JSON
cp "$WORK/settings.json" "$OUT/settings.json"
python3 - "$WORK/list.csv" "$CONTACTS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w", encoding="utf-8") as f:
    f.write("Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО;Наименование МО;Год\n")
    for i in range(n):
        f.write(f"Иванова;Анна;Сергеевна;01.02.1960;{2619000000000000 + i};8912{i:07d};260001;Поликлиника № 1;2026\n")
PY
"$OBZVON" campaign create --dir "$J" --title "Бенчмарк" --script screening --mode "$MODE" --settings "$WORK/settings.json" bench >/dev/null
"$OBZVON" campaign load --dir "$J" bench "$WORK/list.csv" >/dev/null

log "starting obzvon (SIP $SIP_PORT, trunk $UAS_PORT, HTTP $HTTP_PORT)"
"$OBZVON" serve --config "$CFG" >"$OUT/obzvon.log" 2>&1 &
OBZVON_PID=$!
for _ in $(seq 1 150); do
	curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
	sleep 0.2
done
total=$((WARMUP + MINUTES + 2))
bin/obzvon-load --phones "$WORK/phones.jsonl" --phone-registrar "127.0.0.1:$SIP_PORT" \
	--uas-listen "127.0.0.1:$UAS_PORT" --uas-mode campaign --trunk-live "$LIVE" --trunk-scale 10 \
	--duration "${total}m" --events "$OUT/events.jsonl" --json "$OUT/load.json" >"$OUT/load.log" 2>&1 &
LOAD_PID=$!

log "starting the operators' work (session legs)"
for i in $(seq 1 "$AGENTS"); do
	n=$(printf %02d "$i")
	for try in $(seq 1 100); do
		code=$(api -o "$WORK/session.out" -w '%{http_code}' -X POST -d '{"action":"start"}' "http://obzvon/api/v1/agents/op$n/session")
		[ "$code" = 202 ] && break
		[ "$try" = 100 ] && log "op$n: session start answered $code: $(cat "$WORK/session.out")"
		sleep 0.2
	done
done
for _ in $(seq 1 150); do
	ready=$(api http://obzvon/api/v1/agents | python3 -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a.get("state")=="ready"))')
	[ "$ready" -ge "$AGENTS" ] && break
	sleep 0.2
done
log "$ready operators ready; starting the campaign"
"$OBZVON" campaign start --dir "$J" bench >/dev/null
sleep $((WARMUP * 60))
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$OUT/metrics0.txt"
T0=$(date +%s.%N)
PSI0=$(psi)
log "measuring $MINUTES min (PSI cpu some avg10 at start: $PSI0)"
sleep $((MINUTES * 60))
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$OUT/metrics1.txt"
T1=$(date +%s.%N)
PSI1=$(psi)
cat /proc/loadavg >"$OUT/loadavg.txt"
"$OBZVON" campaign pause --dir "$J" bench >/dev/null || true
wait "$LOAD_PID" 2>/dev/null || true
LOAD_PID=
# Contacts lost: the journal must still hold every contact loaded, none
# left "dialing" once the paused campaign's calls have ended (the trunk
# has gone, so any left would fail within the ring timeout).
for _ in $(seq 1 100); do
	"$OBZVON" campaign status --dir "$J" --json bench >"$OUT/status.json" 2>"$OUT/status.err" || true
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["report"]["total"]["dialing"]==0 else 1)' "$OUT/status.json" 2>/dev/null && break
	sleep 0.2
done

# The detection's mean decision times in the measured minutes: what a
# person waited (human, unknown) and a machine's line was held (machine).
# Without decisions (none counted) the detector's own times on the trunk's
# audio stand in: 1 s (amd_initial_silence: the live tone is no speech)
# and 1.92 s (the greeting's "long greeting" rule, DetectMachineIn).
# window.py: a metric's increase over the measured minutes (both scripts
# below).
cat >"$WORK/window.py" <<'PY'
def metrics(path):
    m = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        k, _, v = line.rpartition(" ")
        try:
            m[k] = float(v)
        except ValueError:
            pass
    return m

def window(out):
    a, b = metrics(f"{out}/metrics0.txt"), metrics(f"{out}/metrics1.txt")
    return b, lambda k: b.get(k, 0) - a.get(k, 0)
PY
read -r AMD_LIVE AMD_MACHINE AMD_FROM < <(python3 - "$OUT" "$WORK" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from window import window
_, d = window(sys.argv[1])
def mean(results):
    s = sum(d(f'obzvon_amd_decision_seconds_sum{{result="{r}"}}') for r in results)
    n = sum(d(f'obzvon_amd_decision_seconds_count{{result="{r}"}}') for r in results)
    return (s / n, int(n)) if n > 0 else (None, 0)
live, nl = mean(["human", "unknown"])
machine, nm = mean(["machine"])
if live is None or machine is None:
    print("1.0 1.92 detector")
else:
    print(f"{live:.3f} {machine:.3f} run:{nl}/{nm}")
PY
)
log "AMD decision times for the simulator: live ${AMD_LIVE} s, machine ${AMD_MACHINE} s (from $AMD_FROM)"
HOURS=$(python3 -c "print($MINUTES/60)")
log "simulator: same scenario, $SEEDS days"
"$OBZVON" simulate --modes "$MODE" --agents "$AGENTS" --p "$LIVE" --seeds "$SEEDS" --hours "$HOURS" \
	--warmup "${WARMUP}m" --talk 12s --wrap 1.5s --time-scale 10 --parallel 2 \
	--amd-live "${AMD_LIVE}s" --amd-machine "${AMD_MACHINE}s" --talk-dist exp \
	--priors "live=$LIVE,ring=900ms,talk=12s,wrap=1.5s" --day-from-warmup --json >"$OUT/sim.json"
"$OBZVON" simulate --modes "$MODE" --agents "$AGENTS" --p "$LIVE" --seeds "$SEEDS" --hours "$HOURS" \
	--warmup "${WARMUP}m" --talk 12s --wrap 1.5s --time-scale 10 --parallel 2 --json >"$OUT/sim-reference.json"

python3 - "$OUT" "$T0" "$T1" "$PSI0" "$PSI1" "$CONTACTS" "$AMD_LIVE" "$AMD_MACHINE" "$AMD_FROM" "$WORK" <<'PY'
import json, re, sys
out, t0, t1, psi0, psi1, contacts = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
amd = {"live_s": float(sys.argv[7]), "machine_s": float(sys.argv[8]), "from": sys.argv[9]}
sys.path.insert(0, sys.argv[10])
from window import window
b, d = window(out)
st = lambda s: d(f'obzvon_agent_state_seconds_total{{state="{s}"}}')
busy = st("reserved") + st("talking") + st("wrap_up")
work = busy + st("ready")
occ = busy / work if work else 0
res = {}
for k in b:
    mm = re.match(r'obzvon_campaign_attempts_total\{campaign="bench",result="([a-z_]+)"\}', k)
    if mm:
        res[mm.group(1)] = d(k)
live = sum(v for r, v in res.items() if r in ("reached", "refused", "rescheduled", "wrong_number", "dnc", "abandoned"))
ab = res.get("abandoned", 0)
dials = sum(res.values())
secs = t1 - t0
sh = []
for line in open(f"{out}/events.jsonl"):
    e = json.loads(line)
    if e.get("role") == "trunk" and e.get("event") == "dial_end" and e.get("outcome") == "live" and e.get("talk_ms") and t0 * 1e9 <= e.get("start_unix_ns", 0) <= t1 * 1e9:
        sh.append(e["talk_ms"])
sh.sort()
q = lambda p: sh[min(len(sh) - 1, int(p * len(sh)))] if sh else float("nan")
dec = {k: d(f'obzvon_campaign_dial_decisions_total{{campaign="bench",decision="{k}"}}') for k in ("dial", "not_now")}
try:
    stat = json.load(open(f"{out}/status.json"))
    tot = stat["report"]["total"]
    lost = {"loaded": contacts, "in_journal": tot["total"], "lost": contacts - tot["total"], "left_dialing": tot["dialing"],
            "attempts_in_progress": stat["attempts"].get("", 0), "attempts": sum(stat["attempts"].values())}
except (OSError, ValueError, KeyError) as e:
    lost = {"error": f"campaign status unreadable: {e}"}
sim = [json.loads(l) for l in open(f"{out}/sim.json")]
s = sim[0] if sim else {}
simref = [json.loads(l) for l in open(f"{out}/sim-reference.json")]
sr = simref[0] if simref else {}
rep = {"occupancy": occ, "abandon": ab / live if live else 0, "live": live, "abandoned": ab, "attempts": res,
       "dials_per_second": dials / secs, "dial_decisions_per_second": sum(dec.values()) / secs, "dial_decisions": dec, "contacts": lost, "safe_harbor_ms": {"n": len(sh), "p50": q(0.5), "p99": q(0.99), "max": sh[-1] if sh else None},
       "seconds": secs, "psi_cpu_some_avg10": [psi0, psi1], "amd_decision": amd, "simulator": s, "simulator_reference_scaled": sr}
json.dump(rep, open(f"{out}/result.json", "w"), ensure_ascii=False, indent=1)
print(f"measured {secs/60:.1f} min; PSI cpu some avg10 {psi0} -> {psi1}")
src = "the detector's own on the trunk's audio: the run counted no decisions" if amd["from"] == "detector" else f"the run's mean, {amd['from'][4:]} decisions live/machine"
print(f"simulator: AMD decision times live {amd['live_s']:.3f} s, machine {amd['machine_s']:.3f} s ({src})")
print(f"{'':28s}{'obzvon':>12s}{'simulator':>12s}{'sim, no AMD':>14s}")
print(f"{'occupancy':28s}{occ*100:11.1f}%{s.get('occupancy', float('nan'))*100:11.1f}%{sr.get('occupancy', float('nan'))*100:13.1f}%")
print(f"{'abandonment':28s}{(ab/live if live else 0)*100:11.2f}%{s.get('abandon', float('nan'))*100:11.2f}%{sr.get('abandon', float('nan'))*100:13.2f}%")
print(f"{'live answers / abandoned':28s}{int(live):>7d} / {int(ab):<4d}")
print(f"{'safe-harbor start p50/p99':28s}{q(0.5):7.0f} / {q(0.99):.0f} ms (n={len(sh)}, trunk side, from the answer)")
print(f"{'dials per second':28s}{dials/secs:12.2f}   (attempts ended)")
print(f"{'dial decisions per second':28s}{sum(dec.values())/secs:12.2f}   (rules decisions: {dec['dial']:.0f} dial, {dec['not_now']:.0f} not now)")
print(f"contacts: {json.dumps(lost)}")
print(f"attempts by result: {json.dumps(res)}")
PY
log "results in $OUT (result.json, load.json, events.jsonl, metrics*.txt, sim.json, sim-reference.json)"
