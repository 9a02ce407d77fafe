package journal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Topic is a catalog entry: the subject of an appeal of one kind
// (тематика обращения).
type Topic struct {
	V  int    `json:"v"`
	ID string `json:"id"`
	// Kind is the appeal kind whose list the topic belongs to.
	Kind  Kind   `json:"kind"`
	Title string `json:"title"`
	// Keywords help the keyword search find the topic.
	Keywords []string `json:"keywords,omitempty"`
	// Retired topics stay for old appeals but are not offered.
	Retired bool `json:"retired,omitempty"`
}

const (
	kindTopic     = "topic"
	topicVersion  = 1
	idxTopicKind  = "t_kind"
	kindScript    = "script"
	scriptVersion = 1
	idxScriptTop  = "sc_topic"
	idxWord       = "word"
)

func init() {
	registerKind[Topic](kindTopic)
	registerKind[Script](kindScript)
}

func (t *Topic) kind() string { return kindTopic }
func (t *Topic) id() string   { return t.ID }
func (t *Topic) setVersion()  { t.V = topicVersion }
func (t *Topic) indexKeys() [][]byte {
	keys := [][]byte{ikey(idxTopicKind, []byte(t.Kind.String()), []byte(t.ID))}
	for _, w := range stems(t.Title + " " + strings.Join(t.Keywords, " ")) {
		keys = append(keys, ikey(idxWord, []byte(w), []byte("topic:"+t.ID)))
	}
	return keys
}

// Script is a typical answer script of a topic (типовой сценарий ответа),
// with the level-2 operators recommended for the matter.
type Script struct {
	V       int    `json:"v"`
	ID      string `json:"id"`
	TopicID string `json:"topic"`
	Title   string `json:"title"`
	// Text is what the operator says, in Russian.
	Text     string   `json:"text"`
	Keywords []string `json:"keywords,omitempty"`
	// Recommended are logins of level-2 operators to forward to.
	Recommended []string `json:"recommended,omitempty"`
}

func (s *Script) kind() string { return kindScript }
func (s *Script) id() string   { return s.ID }
func (s *Script) setVersion()  { s.V = scriptVersion }
func (s *Script) indexKeys() [][]byte {
	keys := [][]byte{ikey(idxScriptTop, []byte(s.TopicID), []byte(s.ID))}
	for _, w := range stems(s.Title + " " + s.Text + " " + strings.Join(s.Keywords, " ")) {
		keys = append(keys, ikey(idxWord, []byte(w), []byte("script:"+s.ID)))
	}
	return keys
}

// checkTopic verifies, in txn, that topic belongs to kind's catalog. A
// journal with no catalog loaded accepts any topic (a fresh install).
func checkTopic(txn *badger.Txn, kind Kind, topic string) error {
	var t Topic
	err := getJSON(txn, recordKey(kindTopic, topic), &t)
	if errors.Is(err, ErrNotFound) {
		empty := true
		_ = scanIndex(txn, ikey(idxTopicKind), nil, false, func(_, _ []byte) (bool, error) {
			empty = false
			return false, nil
		})
		if empty {
			return nil
		}
		return &FieldError{"topic", fmt.Sprintf("%q is not in the catalog", topic)}
	}
	if err != nil {
		return err
	}
	if t.Kind != kind {
		return &FieldError{"topic", fmt.Sprintf("%q belongs to %s, not %s", topic, t.Kind, kind)}
	}
	return nil
}
