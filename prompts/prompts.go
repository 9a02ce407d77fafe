// Package prompts holds obzvon's default IVR prompts, embedded in the
// binary so the daemon can run on built-in defaults with no prompt files on
// disk. Operators override a prompt by pointing the config at their own
// file; `make install` also copies these defaults to
// /usr/share/obzvon/prompts/ru/ as a starting point.
//
// Every file is a WAV of 16-bit signed PCM, 8000 Hz, mono, trimmed of
// leading and trailing silence, normalized to -3 dBFS, with 0.25 s of
// silence at the end and padded to whole 20 ms frames (160 samples). They
// were made with espeak-ng and sox by scripts/make-prompts.sh; neither the
// build nor the tests need those tools.
package prompts

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// FS holds the prompt files as ru/<name>.wav.
//
//go:embed ru/*.wav
var FS embed.FS

// Names of the default prompts. Path turns one into its file in FS.
const (
	// Greeting: «Здравствуйте! Вы позвонили в контакт-центр обязательного
	// медицинского страхования.»
	Greeting = "greeting"
	// Menu: «Для записи на диспансеризацию нажмите 1. Для консультации
	// нажмите 2. Для повтора нажмите звёздочку.»
	Menu = "menu"
	// Busy: «Все операторы заняты. Пожалуйста, ожидайте.»
	Busy = "busy"
	// Goodbye: «Спасибо за звонок. До свидания.»
	Goodbye = "goodbye"
	// EchoIntro: «Проверка связи. Говорите, вы услышите себя.»
	EchoIntro = "echo-intro"
	// Invalid: «Неверный выбор.»
	Invalid = "invalid"

	// QueueGreeting: «Все операторы сейчас заняты. Пожалуйста, оставайтесь
	// на линии, вам обязательно ответят.»
	QueueGreeting = "queue-greeting"
	// QueuePosition: «Ваш номер в очереди:» (then a number, n1…n20).
	QueuePosition = "queue-position"
	// QueuePositionMany: «Перед вами более двадцати абонентов.»
	QueuePositionMany = "queue-position-many"
	// QueueWait: «Примерное время ожидания:» (then a number and minutes).
	QueueWait = "queue-wait"
	// QueueWaitShort: «Оператор ответит вам менее чем через минуту.»
	QueueWaitShort = "queue-wait-short"
	// QueueWaitLong: «Время ожидания может превысить двадцать минут.»
	QueueWaitLong = "queue-wait-long"
	// QueueOverflow: «К сожалению, все операторы заняты. Пожалуйста,
	// перезвоните позже. До свидания.»
	QueueOverflow = "queue-overflow"
	// QueueCallback: «Все операторы заняты. Мы сохранили ваш номер,
	// специалист перезвонит вам в ближайшее время. До свидания.»
	QueueCallback = "queue-callback"
	// QueueConnect: «Соединяю с оператором.»
	QueueConnect = "queue-connect"
	// MusicOnHold: an 8 s arpeggio of plucked tones, looped while callers wait.
	MusicOnHold = "moh"
)

// Numbers are the prompts a queue's announcements say numbers with:
// n1 … n20 («один» … «двадцать»), n1f and n2f («одна», «две», for
// minutes), and minute-1, minute-2, minute-5 («минута», «минуты»,
// «минут»).
func Numbers() []string {
	out := []string{"n1f", "n2f", "minute-1", "minute-2", "minute-5"}
	for i := 1; i <= 20; i++ {
		out = append(out, "n"+strconv.Itoa(i))
	}
	sort.Strings(out)
	return out
}

// dir is the folder of FS that holds the prompts (their language).
const dir = "ru"

// Path returns the path in FS of the prompt called name, e.g.
// Path(Greeting) = "ru/greeting.wav". It does not check that the prompt
// exists: opening the path does.
func Path(name string) string { return path.Join(dir, name+".wav") }

// Names returns the names of the embedded prompts, sorted (for example
// "busy", "echo-intro", "goodbye"); Path(name) opens each in FS.
func Names() []string {
	entries, err := fs.ReadDir(FS, dir)
	if err != nil {
		// The embed pattern guarantees the directory exists.
		panic("prompts: embedded directory missing: " + err.Error())
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".wav"))
	}
	sort.Strings(names)
	return names
}
