package journal

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
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
	return append(keys, wordKeys("topic:"+t.ID, t.Title+" "+strings.Join(t.Keywords, " "), "")...)
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
	return append(keys, wordKeys("script:"+s.ID, s.Title+" "+strings.Join(s.Keywords, " "), s.Text)...)
}

// Word weights in the keyword index: a stem in a title or keywords counts
// more than one only in the body text.
const (
	weightTitle = 3
	weightText  = 1
)

// wordKeys are the keyword index keys of a catalog entry: one per stem,
// word/<stem>\0<ref>\0<weight>.
func wordKeys(ref, title, text string) [][]byte {
	var keys [][]byte
	inTitle := map[string]bool{}
	for _, w := range stems(title) {
		inTitle[w] = true
		keys = append(keys, ikey(idxWord, []byte(w), []byte(ref), []byte{weightTitle}))
	}
	for _, w := range stems(text) {
		if !inTitle[w] {
			keys = append(keys, ikey(idxWord, []byte(w), []byte(ref), []byte{weightText}))
		}
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

//go:embed catalog/oms/topics.json catalog/oms/scripts.json
var defaultCatalog embed.FS

// DefaultCatalog returns the catalog shipped with obzvon for a regional
// compulsory-medical-insurance contact center: topics for every appeal
// kind and answer scripts in Russian.
func DefaultCatalog() ([]Topic, []Script, error) {
	sub, err := fs.Sub(defaultCatalog, "catalog/oms")
	if err != nil {
		return nil, nil, err
	}
	return ReadCatalog(sub)
}

// ReadCatalog reads topics.json and scripts.json from fsys (a directory:
// os.DirFS(dir)) and validates them: ids unique and non-empty, kinds
// known, every script's topic present, titles and texts non-empty.
func ReadCatalog(fsys fs.FS) ([]Topic, []Script, error) {
	var topics []Topic
	var scripts []Script
	for _, f := range []struct {
		name string
		v    any
	}{{"topics.json", &topics}, {"scripts.json", &scripts}} {
		b, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f.v); err != nil {
			return nil, nil, fmt.Errorf("catalog: %s: %w", f.name, describeJSON(b, err))
		}
	}
	ids := map[string]bool{}
	for i, t := range topics {
		if err := validTopic(&t); err != nil {
			return nil, nil, fmt.Errorf("catalog: topics.json[%d]: %w", i, err)
		}
		if ids[t.ID] {
			return nil, nil, fmt.Errorf("catalog: topics.json[%d]: %w", i, &FieldError{"id", fmt.Sprintf("%q twice", t.ID)})
		}
		ids[t.ID] = true
	}
	sids := map[string]bool{}
	for i, s := range scripts {
		if err := validScript(&s); err != nil {
			return nil, nil, fmt.Errorf("catalog: scripts.json[%d]: %w", i, err)
		}
		if !ids[s.TopicID] {
			return nil, nil, fmt.Errorf("catalog: scripts.json[%d]: %w", i, &FieldError{"topic", fmt.Sprintf("%q is not in topics.json", s.TopicID)})
		}
		if sids[s.ID] {
			return nil, nil, fmt.Errorf("catalog: scripts.json[%d]: %w", i, &FieldError{"id", fmt.Sprintf("%q twice", s.ID)})
		}
		sids[s.ID] = true
	}
	return topics, scripts, nil
}

func validTopic(t *Topic) error {
	switch {
	case strings.TrimSpace(t.ID) == "" || strings.ContainsAny(t.ID, "/\x00"):
		return &FieldError{"id", fmt.Sprintf("%q: empty or has / or NUL", t.ID)}
	case t.Kind <= KindUnknown || t.Kind > KindGratitude:
		return &FieldError{"kind", "unknown appeal kind"}
	case strings.TrimSpace(t.Title) == "":
		return &FieldError{"title", "is empty"}
	}
	return nil
}

func validScript(s *Script) error {
	switch {
	case strings.TrimSpace(s.ID) == "" || strings.ContainsAny(s.ID, "/\x00"):
		return &FieldError{"id", fmt.Sprintf("%q: empty or has / or NUL", s.ID)}
	case strings.TrimSpace(s.TopicID) == "":
		return &FieldError{"topic", "is empty"}
	case strings.TrimSpace(s.Title) == "":
		return &FieldError{"title", "is empty"}
	case strings.TrimSpace(s.Text) == "":
		return &FieldError{"text", "is empty"}
	}
	return nil
}

// LoadCatalog stores topics and scripts (replacing those with the same
// ids) in one transaction. Only administrators may.
func (j *Journal) LoadCatalog(ctx context.Context, who Actor, topics []Topic, scripts []Script) error {
	if !Allowed(who.Role, ActionCreate, ResourceCatalog) {
		return fmt.Errorf("load catalog: %w: role %s", ErrDenied, who.Role)
	}
	err := j.update(ctx, func(txn *badger.Txn) error {
		for i := range topics {
			t := topics[i]
			if err := validTopic(&t); err != nil {
				return err
			}
			if err := save(txn, &t); err != nil {
				return err
			}
		}
		for i := range scripts {
			s := scripts[i]
			if err := validScript(&s); err != nil {
				return err
			}
			if _, err := txn.Get(recordKey(kindTopic, s.TopicID)); err != nil {
				return &FieldError{"topic", fmt.Sprintf("script %s: topic %q not found", s.ID, s.TopicID)}
			}
			if err := save(txn, &s); err != nil {
				return err
			}
		}
		return j.audit(txn, who, "load", "catalog:", "", fmt.Sprintf("%d topics, %d scripts", len(topics), len(scripts)))
	})
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	return nil
}

// PutTopic creates or replaces one topic (supervisors and administrators).
func (j *Journal) PutTopic(ctx context.Context, who Actor, t Topic) error {
	if !Allowed(who.Role, ActionUpdate, ResourceCatalog) {
		return fmt.Errorf("put topic: %w: role %s", ErrDenied, who.Role)
	}
	if err := validTopic(&t); err != nil {
		return fmt.Errorf("put topic: %w", err)
	}
	return j.update(ctx, func(txn *badger.Txn) error {
		if err := save(txn, &t); err != nil {
			return err
		}
		return j.audit(txn, who, "update", "topic:"+t.ID, "", "")
	})
}

// PutScript creates or replaces one answer script; its topic must exist.
func (j *Journal) PutScript(ctx context.Context, who Actor, s Script) error {
	if !Allowed(who.Role, ActionUpdate, ResourceCatalog) {
		return fmt.Errorf("put script: %w: role %s", ErrDenied, who.Role)
	}
	if err := validScript(&s); err != nil {
		return fmt.Errorf("put script: %w", err)
	}
	return j.update(ctx, func(txn *badger.Txn) error {
		if _, err := txn.Get(recordKey(kindTopic, s.TopicID)); err != nil {
			return fmt.Errorf("put script: %w", &FieldError{"topic", fmt.Sprintf("%q not found", s.TopicID)})
		}
		if err := save(txn, &s); err != nil {
			return err
		}
		return j.audit(txn, who, "update", "script:"+s.ID, "", "")
	})
}

// Topics returns the offered (not retired) topics of kind, by title;
// KindUnknown returns those of every kind.
func (j *Journal) Topics(ctx context.Context, kind Kind) ([]Topic, error) {
	prefix := ikey(idxTopicKind)
	if kind != KindUnknown {
		prefix = ikey(idxTopicKind, []byte(kind.String()), nil)
	}
	var out []Topic
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, nil, false, func(_, pk []byte) (bool, error) {
			var t Topic
			if err := getJSON(txn, pk, &t); err != nil {
				return false, err
			}
			if !t.Retired {
				out = append(out, t)
			}
			return true, nil
		})
	})
	slices.SortFunc(out, func(a, b Topic) int { return strings.Compare(a.Title, b.Title) })
	return out, err
}

// Scripts returns the answer scripts of a topic, by title.
func (j *Journal) Scripts(ctx context.Context, topicID string) ([]Script, error) {
	var out []Script
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxScriptTop, []byte(topicID), nil), nil, false, func(_, pk []byte) (bool, error) {
			var s Script
			if err := getJSON(txn, pk, &s); err != nil {
				return false, err
			}
			out = append(out, s)
			return true, nil
		})
	})
	slices.SortFunc(out, func(a, b Script) int { return strings.Compare(a.Title, b.Title) })
	return out, err
}

// CatalogHits are the results of a keyword search, best first.
type CatalogHits struct {
	Topics  []Topic  `json:"topics"`
	Scripts []Script `json:"scripts"`
}

// SearchCatalog finds topics and answer scripts by keywords (manual
// 5.1.4–5.1.5). Words are stemmed with the Russian Snowball stemmer, so
// "полиса", "полисом" and "полис" match alike, and the last stem may be
// the start of a word ("диспан"). Hits matching more of the query's words
// come first; kind, when set, limits the topics and scripts to that kind's
// catalog. At most 20 of each.
func (j *Journal) SearchCatalog(ctx context.Context, query string, kind Kind) (CatalogHits, error) {
	var hits CatalogHits
	words := stems(query)
	if len(words) == 0 {
		return hits, fmt.Errorf("search catalog: %w: no words to search", ErrInvalid)
	}
	// Score: for each query stem, the entries it matches get its weight
	// (title or text), doubled when the stem is whole rather than a
	// prefix, divided by the square root of how many entries it matches,
	// so rare words decide and common ones ("полис") only break ties.
	score := map[string]float64{}
	err := j.view(ctx, func(txn *badger.Txn) error {
		base := len(ikey(idxWord))
		for _, w := range words {
			got := map[string]float64{}
			err := scanIndex(txn, ikey(idxWord, []byte(w)), nil, false, func(k, _ []byte) (bool, error) {
				parts := bytes.Split(k[base:], []byte{0})
				if len(parts) != 3 || len(parts[2]) != 1 {
					return true, nil
				}
				wt := float64(parts[2][0])
				if string(parts[0]) == w {
					wt *= 2
				}
				ref := string(parts[1])
				got[ref] = max(got[ref], wt)
				return len(got) < 2000, nil
			})
			if err != nil {
				return err
			}
			idf := 1 / math.Sqrt(float64(len(got)))
			for ref, wt := range got {
				score[ref] += wt * idf
			}
		}
		refs := make([]string, 0, len(score))
		for r := range score {
			refs = append(refs, r)
		}
		slices.SortFunc(refs, func(a, b string) int {
			if score[a] != score[b] {
				if score[a] > score[b] {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		topicKind := map[string]Kind{}
		kindOf := func(topicID string) Kind {
			if k, ok := topicKind[topicID]; ok {
				return k
			}
			var t Topic
			if getJSON(txn, recordKey(kindTopic, topicID), &t) == nil {
				topicKind[topicID] = t.Kind
			}
			return topicKind[topicID]
		}
		for _, r := range refs {
			typ, id, _ := strings.Cut(r, ":")
			switch typ {
			case "topic":
				var t Topic
				if err := getJSON(txn, recordKey(kindTopic, id), &t); err != nil {
					return err
				}
				if (kind == KindUnknown || t.Kind == kind) && !t.Retired && len(hits.Topics) < 20 {
					hits.Topics = append(hits.Topics, t)
				}
			case "script":
				var s Script
				if err := getJSON(txn, recordKey(kindScript, id), &s); err != nil {
					return err
				}
				if (kind == KindUnknown || kindOf(s.TopicID) == kind) && len(hits.Scripts) < 20 {
					hits.Scripts = append(hits.Scripts, s)
				}
			}
		}
		return nil
	})
	if err != nil {
		return hits, fmt.Errorf("search catalog: %w", err)
	}
	return hits, nil
}

// Recommended returns the directory entries of a script's recommended
// level-2 operators that exist and are enabled.
func (j *Journal) Recommended(ctx context.Context, s Script) ([]DirectoryEntry, error) {
	var out []DirectoryEntry
	for _, l := range s.Recommended {
		a, err := j.Account(ctx, l)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !a.Disabled {
			out = append(out, DirectoryEntry{a.Login, a.DisplayName, a.Organization, a.Extension, a.Roles})
		}
	}
	return out, nil
}
