# bench-lib.sh: shared by bench-load.sh and leak-check.sh (sourced, not run).
# Needs: GO, WORK, log(); sets SIP_PORT UAS_PORT HTTP_PORT RTP_MAX OBZVON CFG.

# free_port udp|tcp prints a free loopback port.
free_port() {
	python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

# build_binaries builds bin/obzvon (unless OBZVON_BIN names one) and
# bin/obzvon-load, and sets OBZVON.
build_binaries() {
	OBZVON=${OBZVON_BIN:-bin/obzvon}
	if [ -z "${OBZVON_BIN:-}" ]; then
		log "building bin/obzvon"
		$GO build -trimpath -o bin/obzvon ./cmd/obzvon
	fi
	log "building bin/obzvon-load"
	$GO build -trimpath -o bin/obzvon-load ./cmd/obzvon-load
}

# pick_ports chooses the SIP, trunk and HTTP ports and the RTP range end.
pick_ports() {
	SIP_PORT=$(free_port udp)
	UAS_PORT=$(free_port udp)
	while [ "$UAS_PORT" = "$SIP_PORT" ]; do UAS_PORT=$(free_port udp); done
	HTTP_PORT=$(free_port tcp)
	RTP_MAX=$((RTP_MIN + RTP_PORTS - 1))
}

# write_prompt makes $WORK/greeting.wav, a 1 s 8 kHz mono 16-bit tone, so
# route 601 calls are short.
write_prompt() {
	if command -v sox >/dev/null 2>&1; then
		sox -q -n -r 8000 -c 1 -b 16 -e signed-integer "$WORK/greeting.wav" synth 1 sine 440 gain -6
	else
		python3 - "$WORK/greeting.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(16383*math.sin(2*math.pi*440*i/8000))) for i in range(8000)))
w.close()
PY
	fi
}

# write_config writes $WORK/obzvon.toml: SIP on SIP_PORT (UDP), RTP
# RTP_MIN..RTP_MAX, HTTP on HTTP_PORT, data in $WORK/data, and the routes
# 600 echo, 601 playback of the 1 s prompt, 88* dial to the trunk on
# UAS_PORT. Sets CFG.
write_config() {
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
port_max = $RTP_MAX

[http]
listen = "127.0.0.1:$HTTP_PORT"

[data]
dir = "$WORK/data"

[calls]
drain_timeout = "5s"
max_setup_rate = 0   # benchmarks measure the capacity: no setup-rate limit

[prompts.files]
greeting = "$WORK/greeting.wav"

[[route]]
name = "echo"
match = "600"
action = "echo"

[[route]]
name = "prompt"
match = "601"
action = "playback"
prompt = "greeting"

[[route]]
name = "trunk"
match = "88*"
action = "dial"
target = "sip:8800@127.0.0.1:$UAS_PORT"
allow = ["127.0.0.1"]   # the load generator is a trusted trunk
TOML
}
