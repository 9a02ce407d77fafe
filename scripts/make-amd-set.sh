#!/usr/bin/env bash
# Makes a labelled set of Russian call openings for answering-machine
# detection (media.DetectMachine): what the far end sends in the first
# seconds after it answers. Speech comes from espeak-ng (several voices,
# speeds and pitches), everything else from sox: lead-in silence, a second
# "Алло?" when nobody answers, the beep after a machine's greeting, Russian
# ringback (425 Hz, 1 s on, 4 s off), line noise at several levels, the
# telephone band (300-3400 Hz) and a loud or quiet line.
#
# Labels: human (a short greeting, then silence waiting for a reply),
# machine (a recorded greeting: long, many words, often a beep), unknown
# (nothing to decide on: silence, noise, ringback).
#
# Two splits with different phrases, voices, speeds and noise: "dev" is
# what the detector's defaults were tuned on, "test" is held out and is
# what media's TestAMDAccuracy reports and asserts a floor on.
#
# Output: OUTDIR/<id>.wav (16-bit PCM, 8000 Hz, mono, 6 s) and
# OUTDIR/labels.tsv (file, label, description). With the same espeak-ng
# and sox the output is the same bytes (sox -R: seeded noise, no dither
# randomness).
#
# Usage: scripts/make-amd-set.sh OUTDIR [dev|test]   (default: test)
set -euo pipefail

out=${1:?usage: make-amd-set.sh OUTDIR [dev|test]}
split=${2:-test}
for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "make-amd-set: $tool not found (apt-get install espeak-ng sox)" >&2
		exit 1
	}
done
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
labels="$out/labels.tsv"
: >"$labels"

LEN=6 # seconds per recording: more than the detector's 5 s of analysis
SOX=(sox -R -D -V1)
FMT=(-r 8000 -c 1 -b 16 -e signed-integer)

# speak TEXT VOICE SPEED PITCH GAIN_DB OUT: the phrase at 8 kHz, trimmed,
# peak-normalised to GAIN_DB dBFS.
speak() {
	espeak-ng -v "ru+$2" -s "$3" -p "$4" -w "$tmp/s22.wav" "$1"
	"${SOX[@]}" "$tmp/s22.wav" "${FMT[@]}" "$6" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse gain -n "$5"
}

# silence SECONDS OUT
silence() { "${SOX[@]}" -n "${FMT[@]}" "$2" trim 0 "$1"; }

# finish ID LABEL NOISE DESC PARTS...: concatenates the parts, pads or
# cuts to LEN seconds, adds noise (none, or "white|pink|brown:DB" for
# that colour at DB dBFS), limits to the telephone band.
finish() {
	local id=$1 label=$2 noise=$3 desc=$4
	shift 4
	"${SOX[@]}" "$@" "$tmp/cat.wav" pad 0 "$LEN" trim 0 "$LEN"
	if [ "$noise" = none ]; then
		cp "$tmp/cat.wav" "$tmp/mix.wav"
	else
		"${SOX[@]}" -n "${FMT[@]}" "$tmp/noise.wav" synth "$LEN" "${noise%%:*}noise" gain -n "${noise#*:}"
		"${SOX[@]}" -m -v 1 "$tmp/cat.wav" -v 1 "$tmp/noise.wav" "$tmp/mix.wav"
	fi
	"${SOX[@]}" "$tmp/mix.wav" "${FMT[@]}" "$out/$id.wav" sinc 300-3400
	printf '%s.wav\t%s\t%s\n' "$id" "$label" "$desc" >>"$labels"
}

# human ID TEXT VOICE SPEED PITCH GAIN LEAD REPEAT NOISE: LEAD seconds of
# silence, the greeting, then silence; with REPEAT > 0 the greeting again
# REPEAT seconds after its end (nobody answered).
human() {
	local id=$1 text=$2 voice=$3 speed=$4 pitch=$5 gain=$6 lead=$7 repeat=$8 noise=$9
	speak "$text" "$voice" "$speed" "$pitch" "$gain" "$tmp/p.wav"
	silence "$lead" "$tmp/lead.wav"
	local parts=("$tmp/lead.wav" "$tmp/p.wav")
	if [ "$repeat" != 0 ]; then
		silence "$repeat" "$tmp/gap.wav"
		parts+=("$tmp/gap.wav" "$tmp/p.wav")
	fi
	finish "$id" human "$noise" "«$text» $voice s$speed p$pitch ${gain}dB lead ${lead}s repeat ${repeat}s noise $noise" "${parts[@]}"
}

# machine ID TEXT VOICE SPEED PITCH GAIN LEAD BEEP NOISE [PAUSE]: LEAD
# seconds of silence, the greeting, and with BEEP = "HZ:SECONDS" a beep
# 0.4 s after it. A TEXT of "FIRST|REST" is spoken as two phrases with
# PAUSE seconds between them (a greeting that starts like a person's).
machine() {
	local id=$1 text=$2 voice=$3 speed=$4 pitch=$5 gain=$6 lead=$7 beep=$8 noise=$9 pause=${10:-0}
	silence "$lead" "$tmp/lead.wav"
	local parts=("$tmp/lead.wav")
	if [[ $text == *"|"* ]]; then
		speak "${text%%|*}" "$voice" "$speed" "$pitch" "$gain" "$tmp/p1.wav"
		silence "$pause" "$tmp/pause.wav"
		parts+=("$tmp/p1.wav" "$tmp/pause.wav")
		text=${text#*|}
	fi
	speak "$text" "$voice" "$speed" "$pitch" "$gain" "$tmp/p.wav"
	parts+=("$tmp/p.wav")
	if [ "$beep" != none ]; then
		silence 0.4 "$tmp/gap.wav"
		"${SOX[@]}" -n "${FMT[@]}" "$tmp/beep.wav" synth "${beep#*:}" sine "${beep%%:*}" gain -n -6
		parts+=("$tmp/gap.wav" "$tmp/beep.wav")
	fi
	finish "$id" machine "$noise" "«$2» $voice s$speed p$pitch ${gain}dB lead ${lead}s pause ${pause}s beep $beep noise $noise" "${parts[@]}"
}

# ringback ID LEAD NOISE: the Russian ringing tone (425 Hz, 1 s on, 4 s
# off) starting LEAD seconds in, as a far end that answered early plays it.
ringback() {
	local id=$1 lead=$2 noise=$3
	silence "$lead" "$tmp/lead.wav"
	"${SOX[@]}" -n "${FMT[@]}" "$tmp/on.wav" synth 1 sine 425 gain -n -10
	silence 4 "$tmp/off.wav"
	finish "$id" unknown "$noise" "ringback 425 Hz 1/4 s lead ${lead}s noise $noise" \
		"$tmp/lead.wav" "$tmp/on.wav" "$tmp/off.wav" "$tmp/on.wav"
}

# quiet ID NOISE: nothing but the line (silence or noise).
quiet() {
	silence "$LEN" "$tmp/lead.wav"
	finish "$1" unknown "$2" "silence noise $2" "$tmp/lead.wav"
}

case $split in
dev)
	human d-h01 "Алло?" m3 130 50 -3 0.4 0 none
	human d-h02 "Алло?" f2 150 60 -12 0.9 2.0 pink:-40
	human d-h03 "Да?" m1 140 45 -6 0.3 0 white:-45
	human d-h04 "Да, слушаю." f4 160 55 -3 0.6 0 none
	human d-h05 "Да, слушаю." m3 180 40 -18 1.2 0 brown:-35
	human d-h06 "Алло, здравствуйте." f2 150 65 -6 0.5 2.5 none
	human d-h07 "Алло, здравствуйте." klatt 170 50 -3 0.2 0 pink:-35
	human d-h08 "Слушаю вас." m7 140 35 -9 0.7 0 none
	human d-h09 "Алло, говорите." f1 160 70 -3 0.4 1.8 white:-40
	human d-h10 "Да, алло." m2 150 50 -15 0.8 0 none
	human d-h11 "Алло, кто это?" f4 170 60 -6 0.3 0 brown:-40
	human d-h12 "Алло, я слушаю." m4 140 45 -3 1.0 2.2 none
	human d-h13 "Да, здравствуйте." f3 150 55 -12 0.5 0 pink:-45
	human d-h14 "Алло?" m6 120 40 -6 1.5 0 none
	human d-h15 "Да?" f5 160 75 -3 0.6 1.5 none
	human d-h16 "Слушаю вас." klatt2 150 50 -9 0.4 0 white:-35
	machine d-m01 "Здравствуйте, вы позвонили Ивановой Марии. Оставьте, пожалуйста, сообщение после сигнала." f2 160 60 -3 0.3 1000:0.5 none
	machine d-m02 "Здравствуйте, вы позвонили Ивановой Марии. Оставьте, пожалуйста, сообщение после сигнала." m3 190 45 -12 0.8 1000:0.5 pink:-40
	machine d-m03 "Абонент сейчас не может ответить на ваш звонок. Оставьте сообщение после звукового сигнала." f4 170 55 -3 0.2 1400:0.4 none
	machine d-m04 "Абонент сейчас не может ответить на ваш звонок. Оставьте сообщение после звукового сигнала." m1 150 50 -9 0.5 1400:0.4 white:-40
	machine d-m05 "Привет, это Саша. Я не могу сейчас ответить, перезвоню позже." m7 160 40 -3 0.6 none none
	machine d-m06 "Привет, это Саша. Я не могу сейчас ответить, перезвоню позже." klatt 180 50 -6 0.3 none brown:-38
	machine d-m07 "Оставьте сообщение." f1 150 65 -3 0.4 850:0.6 none
	machine d-m08 "Оставьте сообщение." m4 170 45 -9 0.7 1000:0.3 pink:-42
	machine d-m09 "Добрый день. Вы позвонили в стоматологическую клинику. Наш рабочий день закончен." f3 160 55 -3 0.5 none none
	machine d-m10 "Добрый день. Вы позвонили в стоматологическую клинику. Наш рабочий день закончен." m2 140 50 -15 1.0 none white:-45
	machine d-m11 "Вас приветствует автоответчик. Говорите после сигнала." f5 170 70 -3 0.2 1000:0.8 none
	machine d-m12 "Вас приветствует автоответчик. Говорите после сигнала." m6 150 40 -6 0.4 440:0.5 pink:-38
	# Hard cases, where energy and cadence are known to fail: a person
	# who says a lot, or speaks late, or over loud noise; a machine whose
	# greeting is short with no beep, starts late, or opens like a person.
	human d-h17 "Алло, здравствуйте, я вас слушаю, говорите." f3 150 60 -3 0.5 0 none
	human d-h18 "Алло?" m2 140 50 -6 2.8 0 none
	human d-h19 "Алло?" f4 150 60 -3 0.4 0 pink:-20
	machine d-m13 "Оставьте сообщение." m5 160 50 -3 0.5 none none
	machine d-m14 "Здравствуйте, вы позвонили Анне. Оставьте сообщение после сигнала." f5 160 65 -3 2.0 1000:0.5 none
	machine d-m15 "Здравствуйте.|Вы позвонили Анне. Оставьте сообщение после сигнала." m7 150 45 -3 0.4 1000:0.5 none 1.0
	ringback d-u01 0.1 none
	ringback d-u02 0.6 pink:-40
	quiet d-u03 none
	quiet d-u04 white:-45
	quiet d-u05 brown:-38
	;;
test)
	human t-h01 "Алло." f3 140 60 -3 0.5 0 none
	human t-h02 "Алё?" m5 150 45 -9 0.3 2.0 pink:-42
	human t-h03 "Да, говорите." f5 160 70 -6 0.8 0 none
	human t-h04 "Слушаю." m8 130 40 -3 0.4 0 white:-40
	human t-h05 "Здравствуйте." klatt3 150 50 -12 0.6 1.9 none
	human t-h06 "Алло, алло?" f1 170 65 -3 1.1 0 brown:-36
	human t-h07 "Да, кто это?" m2 160 50 -6 0.2 0 none
	human t-h08 "Алло, добрый день." f2 150 55 -3 0.7 2.4 pink:-38
	human t-h09 "Да, я слушаю вас." m6 170 40 -15 0.5 0 none
	human t-h10 "Алло, кто звонит?" f4 160 60 -6 0.9 0 white:-45
	human t-h11 "Алло?" klatt4 140 50 -3 0.3 1.6 none
	human t-h12 "Да?" m3 120 35 -9 1.3 0 pink:-44
	human t-h13 "Алло." f5 180 75 -3 0.4 0 brown:-40
	human t-h14 "Слушаю." m1 150 55 -6 0.6 2.1 none
	human t-h15 "Да, говорите." klatt5 140 45 -3 0.5 0 white:-38
	human t-h16 "Здравствуйте." f3 170 65 -18 0.8 0 none
	machine t-m01 "Здравствуйте, вы позвонили Петрову Сергею. Сейчас я не могу ответить, оставьте сообщение после сигнала." m5 160 45 -3 0.4 1000:0.5 none
	machine t-m02 "Здравствуйте, вы позвонили Петрову Сергею. Сейчас я не могу ответить, оставьте сообщение после сигнала." f3 180 60 -9 0.2 1200:0.4 white:-42
	machine t-m03 "Добрый день. Абонент временно недоступен. Пожалуйста, оставьте голосовое сообщение после сигнала." f5 150 70 -3 0.6 1000:0.6 none
	machine t-m04 "Добрый день. Абонент временно недоступен. Пожалуйста, оставьте голосовое сообщение после сигнала." m8 170 40 -12 0.9 950:0.5 pink:-38
	machine t-m05 "Алло, это Оля. Меня нет дома, перезвоните вечером." f2 160 60 -3 0.3 none none
	machine t-m06 "Алло, это Оля. Меня нет дома, перезвоните вечером." klatt3 150 55 -6 0.5 none brown:-40
	machine t-m07 "Говорите после сигнала." m2 160 50 -3 0.5 1000:0.5 none
	machine t-m08 "Говорите после сигнала." f1 140 65 -9 0.3 1400:0.3 white:-40
	machine t-m09 "Вы позвонили в компанию Медсервис. Режим работы с девяти до восемнадцати часов." m6 170 45 -3 0.7 none none
	machine t-m10 "Вы позвонили в компанию Медсервис. Режим работы с девяти до восемнадцати часов." f4 150 60 -15 0.2 none pink:-44
	machine t-m11 "Здравствуйте. Я сейчас занят, оставьте сообщение, и я вам перезвоню." m3 180 40 -3 0.4 1000:0.4 none
	machine t-m12 "Здравствуйте. Я сейчас занят, оставьте сообщение, и я вам перезвоню." klatt5 160 50 -6 1.0 800:0.5 white:-38
	# Hard cases (see dev).
	human t-h17 "Алло, добрый день, слушаю вас внимательно." m4 150 45 -3 0.4 0 none
	human t-h18 "Да?" f2 140 60 -6 3.0 0 none
	human t-h19 "Алло?" m1 150 50 -3 0.6 0 white:-22
	machine t-m13 "Перезвоните позже." f3 160 60 -3 0.4 none none
	machine t-m14 "Здравствуйте, вы позвонили Ольге. Оставьте сообщение." m6 160 45 -3 1.8 1000:0.5 none
	machine t-m15 "Алло.|Меня сейчас нет, оставьте сообщение после сигнала." f1 150 65 -3 0.5 1000:0.5 none 1.2
	ringback t-u01 0.3 none
	ringback t-u02 1.0 white:-42
	quiet t-u03 none
	quiet t-u04 pink:-40
	quiet t-u05 brown:-42
	;;
*)
	echo "make-amd-set: split $split: want dev or test" >&2
	exit 2
	;;
esac
echo "make-amd-set: $(wc -l <"$labels") recordings in $out ($split)" >&2
