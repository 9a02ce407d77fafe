#!/usr/bin/env bash
# Makes the called people's audio of the campaign trunk scenarios
# (uas_campaign.xml): raw headerless mu-law, 8 kHz mono, as SIPp's
# rtp_stream sends it. The files are committed; run this only to change
# them (needs espeak-ng and sox).
#
#   human.ulaw    «Алло?» then 4.4 s of silence (looped: a person who
#                 answers and waits for the caller to speak)
#   machine.ulaw  a voicemail greeting of about 5 s, a 1 kHz beep of
#                 0.5 s, then 2 s of silence (looped)
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
FMT=(-r 8000 -c 1 -b 16 -e signed-integer)
speak() {
	espeak-ng -v ru -s "$2" -w "$tmp/s22.wav" "$1"
	sox -D "$tmp/s22.wav" "${FMT[@]}" "$3" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse gain -n -6
}
speak "Алло?" 150 "$tmp/hello.wav"
sox -D "$tmp/hello.wav" "${FMT[@]}" "$tmp/human.wav" pad 0.1 5 trim 0 5
sox -D "$tmp/human.wav" -t ul human.ulaw
speak "Здравствуйте, вы позвонили Ивану Петрову. Я не могу сейчас ответить. Оставьте, пожалуйста, сообщение после сигнала." 170 "$tmp/greet.wav"
sox -D -n "${FMT[@]}" "$tmp/beep.wav" synth 0.5 sine 1000 gain -8
sox -D -n "${FMT[@]}" "$tmp/gap.wav" trim 0 0.4
sox -D -n "${FMT[@]}" "$tmp/tail.wav" trim 0 2
sox -D "$tmp/greet.wav" "$tmp/gap.wav" "$tmp/beep.wav" "$tmp/tail.wav" "$tmp/machine0.wav"
# whole 20 ms packets
n=$(soxi -s "$tmp/machine0.wav")
sox -D "$tmp/machine0.wav" "$tmp/machine.wav" pad 0 "$(((160 - n % 160) % 160))s"
sox -D "$tmp/machine.wav" -t ul machine.ulaw
ls -l human.ulaw machine.ulaw >&2
