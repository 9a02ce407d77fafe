package journal

import (
	"strings"

	"github.com/kljensen/snowball/russian"

	"github.com/obzvon/obzvon/lists"
)

// stopWords are frequent Russian words that carry no topic.
var stopWords = map[string]bool{
	"и": true, "в": true, "во": true, "не": true, "на": true, "с": true, "со": true, "по": true, "за": true, "к": true,
	"о": true, "об": true, "от": true, "до": true, "из": true, "у": true, "для": true, "при": true, "что": true,
	"как": true, "а": true, "но": true, "или": true, "ли": true, "же": true, "это": true, "то": true, "мне": true,
	"я": true, "вы": true, "он": true, "она": true, "его": true, "ее": true, "их": true, "если": true, "так": true,
	"бы": true, "уже": true, "ещё": true, "еще": true, "быть": true, "вас": true, "вам": true, "ваш": true,
}

// stems splits text into words, drops stop words and returns the distinct
// Snowball stems of the rest (ё folded to е).
func stems(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Fields(lists.Fold(text)) {
		if stopWords[w] || len([]rune(w)) < 2 {
			continue
		}
		s := russian.Stem(w, false)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
