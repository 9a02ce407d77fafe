#!/usr/bin/env bash
# Regenerates the default Russian IVR prompts under prompts/ru/ with
# espeak-ng and sox. OPTIONAL: the WAV files are committed and embedded by
# the prompts package, so neither the build nor the tests need these tools;
# run this only to change a prompt's text or the voice.
#
# Output format (what the media engine expects): WAV, 16-bit signed PCM,
# 8000 Hz, mono, leading/trailing silence trimmed, normalized to -3 dBFS,
# 0.25 s of silence at the end, padded to a whole number of 20 ms frames
# (160 samples). Recipe: shared/peers/README.md, "Audio assets".
#
# Usage: scripts/make-prompts.sh [OUTDIR]    (default: prompts/ru)
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-prompts/ru}
for tool in espeak-ng sox soxi; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "make-prompts: $tool not found (apt-get install espeak-ng sox)" >&2
		exit 1
	}
done
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name|text — keep in step with the constants in prompts/prompts.go.
prompts=(
	"greeting|Здравствуйте! Вы позвонили в контакт-центр обязательного медицинского страхования."
	"menu|Для записи на диспансеризацию нажмите 1. Для консультации нажмите 2. Для повтора нажмите звёздочку."
	"busy|Все операторы заняты. Пожалуйста, ожидайте."
	"goodbye|Спасибо за звонок. До свидания."
	"echo-intro|Проверка связи. Говорите, вы услышите себя."
	"invalid|Неверный выбор."
	"queue-greeting|Все операторы сейчас заняты. Пожалуйста, оставайтесь на линии, вам обязательно ответят."
	"queue-position|Ваш номер в очереди:"
	"queue-position-many|Перед вами более двадцати абонентов."
	"queue-wait|Примерное время ожидания:"
	"queue-wait-short|Оператор ответит вам менее чем через минуту."
	"queue-wait-long|Время ожидания может превысить двадцать минут."
	"queue-overflow|К сожалению, все операторы заняты. Пожалуйста, перезвоните позже. До свидания."
	"queue-callback|Все операторы заняты. Мы сохранили ваш номер, специалист перезвонит вам в ближайшее время. До свидания."
	"queue-connect|Соединяю с оператором."
	"n1|один"
	"n2|два"
	"n3|три"
	"n4|четыре"
	"n5|пять"
	"n6|шесть"
	"n7|семь"
	"n8|восемь"
	"n9|девять"
	"n10|десять"
	"n11|одиннадцать"
	"n12|двенадцать"
	"n13|тринадцать"
	"n14|четырнадцать"
	"n15|пятнадцать"
	"n16|шестнадцать"
	"n17|семнадцать"
	"n18|восемнадцать"
	"n19|девятнадцать"
	"n20|двадцать"
	"n1f|одна"
	"n2f|две"
	"minute-1|минута"
	"minute-2|минуты"
	"minute-5|минут"
	"safe-harbor|Здравствуйте! Вам звонит контакт-центр ОМС по поводу диспансеризации. Все операторы заняты, мы вам перезвоним. Наш телефон: восемь восемьсот, сто двадцать три, сорок пять, шестьдесят семь."
	"machine-message|Здравствуйте! Вам звонит контакт-центр ОМС. Приглашаем вас бесплатно пройти диспансеризацию в вашей поликлинике. Наш телефон: восемь восемьсот, сто двадцать три, сорок пять, шестьдесят семь."
	"informing|Здравствуйте! Вас беспокоит ваша страховая медицинская организация. В этом году вы можете бесплатно пройти диспансеризацию в своей поликлинике. Запишитесь в регистратуре или на портале Госуслуг."
	"informing-passed|Если вы уже прошли диспансеризацию в этом году, нажмите 1. Если нет, нажмите 2."
	"informing-callback|Если хотите, чтобы страховой представитель перезвонил вам и помог записаться, нажмите 1. Если нет, нажмите 2."
	"informing-thanks|Спасибо! Всего доброго."
)

# sox -D everywhere: no dither, so the padding is digital silence and a
# rerun with the same espeak-ng and sox produces the same bytes.
frame=160 # samples in 20 ms at 8 kHz
for p in "${prompts[@]}"; do
	name=${p%%|*}
	text=${p#*|}
	espeak-ng -v ru -s 165 -w "$tmp/$name-22k.wav" "$text"
	sox "$tmp/$name-22k.wav" "$tmp/$name-trim.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
	sox -D "$tmp/$name-trim.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/$name-8k.wav" \
		gain -n -3 pad 0 0.25
	samples=$(soxi -s "$tmp/$name-8k.wav")
	pad=$(((frame - samples % frame) % frame))
	sox -D "$tmp/$name-8k.wav" "$out/$name.wav" pad 0 "${pad}s"
	echo "make-prompts: $out/$name.wav $(soxi -s "$out/$name.wav") samples ($(soxi -d "$out/$name.wav"))" >&2
done

# Music on hold: a soft C-major arpeggio of plucked tones (no voice, away
# from the DTMF and test-tone frequencies), 8 s, looped by the queue.
notes=(261.63 329.63 392.00 523.25 392.00 329.63 293.66 349.23 440.00 587.33 440.00 349.23 261.63 329.63 392.00 523.25)
parts=()
for i in "${!notes[@]}"; do
	sox -D -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/moh-$i.wav" \
		synth 0.5 pluck "${notes[$i]}" gain -14 fade q 0.01 0.5 0.2
	parts+=("$tmp/moh-$i.wav")
done
sox -D "${parts[@]}" "$out/moh.wav"
echo "make-prompts: $out/moh.wav $(soxi -s "$out/moh.wav") samples ($(soxi -d "$out/moh.wav"))" >&2
