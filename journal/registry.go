package journal

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// Person is an insured person of the registry (реестр застрахованных
// лиц), keyed by the unified policy number.
type Person struct {
	V int `json:"v"`
	// ENP is the 16-digit unified policy number, the record's id.
	ENP        string `json:"enp"`
	Surname    string `json:"surname"`
	Name       string `json:"name"`
	Patronymic string `json:"patronymic,omitempty"`
	// Birth is the date of birth, YYYY-MM-DD.
	Birth   string `json:"birth"`
	Phone   string `json:"phone,omitempty"`
	Address string `json:"address,omitempty"`
	// MOCode and MOName are the medical organization the person is
	// attached to.
	MOCode string `json:"mo_code,omitempty"`
	MOName string `json:"mo_name,omitempty"`
	// Source is the file the person was last loaded from.
	Source  string    `json:"source,omitempty"`
	Updated time.Time `json:"updated"`
}

const (
	kindPerson    = "person"
	personVersion = 1
	idxPSurname   = "p_s"
	idxPName      = "p_n"
	idxPPatr      = "p_p"
	idxPBirth     = "p_b"
	idxPPhone     = "p_phone"
)

func init() { registerKind[Person](kindPerson) }

func (p *Person) kind() string { return kindPerson }
func (p *Person) id() string   { return p.ENP }
func (p *Person) setVersion()  { p.V = personVersion }
func (p *Person) indexKeys() [][]byte {
	s, n, pa := []byte(lists.Fold(p.Surname)), []byte(lists.Fold(p.Name)), []byte(lists.Fold(p.Patronymic))
	b, e := []byte(p.Birth), []byte(p.ENP)
	keys := [][]byte{
		ikey(idxPSurname, s, n, pa, b, e),
		ikey(idxPName, n, pa, s, b, e),
		ikey(idxPBirth, b, s, n, pa, e),
	}
	if len(pa) > 0 {
		keys = append(keys, ikey(idxPPatr, pa, s, n, b, e))
	}
	if p.Phone != "" {
		keys = append(keys, ikey(idxPPhone, []byte(p.Phone), e))
	}
	return keys
}

// same reports whether two persons have the same registry data.
func (p *Person) same(o *Person) bool {
	return p.ENP == o.ENP && p.Surname == o.Surname && p.Name == o.Name && p.Patronymic == o.Patronymic &&
		p.Birth == o.Birth && p.Phone == o.Phone && p.Address == o.Address && p.MOCode == o.MOCode && p.MOName == o.MOName
}

// LoadStats counts what a registry load did.
type LoadStats struct {
	Rows      int           `json:"rows"` // valid rows read
	Inserted  int           `json:"inserted"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Rejected  int           `json:"rejected"` // rows with errors (see the error list)
	Encoding  string        `json:"encoding,omitempty"`
	Took      time.Duration `json:"took"`
}

// loadBatch is how many rows a registry load writes per batch.
const loadBatch = 2000

// LoadRegistry loads a list of insured persons (CSV or XLSX, see package
// lists) into the registry: new policy numbers are inserted, known ones
// updated in place, so reloading a file creates no duplicates. Bad rows
// are returned as row errors and skipped; a broken header loads nothing.
// Only administrators may load; the load is audited (not its rows).
// Loads are serialized; searches go on meanwhile.
func (j *Journal) LoadRegistry(ctx context.Context, who Actor, r io.Reader, f lists.Format, source string) (LoadStats, []*lists.RowError, error) {
	var st LoadStats
	if !Allowed(who.Role, ActionCreate, ResourceRegistry) {
		return st, nil, fmt.Errorf("load registry: %w: role %s", ErrDenied, who.Role)
	}
	if err := j.check(ctx, true); err != nil {
		return st, nil, err
	}
	start := time.Now()
	j.loadMu.Lock()
	defer j.loadMu.Unlock()
	lr, err := lists.NewReader(r, f, nil)
	if err != nil {
		return st, nil, fmt.Errorf("load registry %s: %w", source, err)
	}
	defer lr.Close()
	st.Encoding = lr.Encoding
	// A reader goroutine parses and validates rows into batches while
	// this one writes them: parsing and Badger's inserts overlap. One
	// WriteBatch spans the whole load (Badger commits it in large
	// transactions); stored versions are read per batch to find the index
	// keys to replace, which is safe because a file never holds one ENP
	// twice (the reader rejects duplicates) and loads are serialized.
	var rowErrs []*lists.RowError
	now := j.now()
	batches := make(chan []*Person, 4)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	var rejected int
	go func() {
		defer close(batches)
		batch := make([]*Person, 0, loadBatch)
		for {
			row, err := lr.Next()
			var re *lists.RowError
			if errors.As(err, &re) {
				rowErrs = append(rowErrs, re)
				rejected++
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr <- err
				return
			}
			batch = append(batch, &Person{ENP: row.ENP, Surname: row.Surname, Name: row.Name, Patronymic: row.Patronymic,
				Birth: row.Birth, Phone: row.Phone, Address: row.Address, MOCode: row.MOCode, MOName: row.MOName, Source: source, Updated: now})
			if len(batch) == loadBatch {
				select {
				case batches <- batch:
				case <-stop:
					return
				}
				batch = make([]*Person, 0, loadBatch)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-stop:
			}
		}
		readErr <- nil
	}()
	// A first load into an empty registry has no stored versions to
	// read; loads are serialized, so the registry stays ours meanwhile.
	fresh := true
	if err := j.db.View(func(txn *badger.Txn) error {
		return scanIndex(txn, []byte(spaceRecord+kindPerson+"/"), nil, false, func(_, _ []byte) (bool, error) {
			fresh = false
			return false, nil
		})
	}); err != nil {
		return st, nil, fmt.Errorf("load registry %s: %w", source, err)
	}
	wb := j.db.NewWriteBatch()
	defer wb.Cancel()
	var werr error
	for batch := range batches {
		if werr == nil {
			werr = ctx.Err()
		}
		if werr == nil {
			st.Rows += len(batch)
			werr = j.writePersons(wb, batch, fresh, &st)
		}
		if werr != nil {
			close(stop)
			for range batches {
			}
			break
		}
	}
	if werr == nil {
		werr = <-readErr
	}
	if werr == nil {
		werr = wb.Flush()
	}
	if werr == nil && j.opts.SyncWrites {
		werr = j.db.Sync()
	}
	st.Rejected = rejected
	if werr != nil {
		return st, rowErrs, fmt.Errorf("load registry %s: %w", source, werr)
	}
	st.Took = time.Since(start)
	detail := fmt.Sprintf("rows %d inserted %d updated %d unchanged %d rejected %d", st.Rows, st.Inserted, st.Updated, st.Unchanged, st.Rejected)
	if err := j.update(ctx, func(txn *badger.Txn) error { return j.audit(txn, who, "load", "registry:"+source, "", detail) }); err != nil {
		return st, rowErrs, err
	}
	j.log.Info("registry loaded", "source", source, "rows", st.Rows, "inserted", st.Inserted, "updated", st.Updated,
		"rejected", st.Rejected, "took", st.Took)
	return st, rowErrs, nil
}

// writePersons adds one batch to wb: it reads the stored versions to find
// their index keys, then sets records and keys.
func (j *Journal) writePersons(wb *badger.WriteBatch, batch []*Person, fresh bool, st *LoadStats) error {
	old := make([]*Person, len(batch))
	err := j.db.View(func(txn *badger.Txn) error {
		if fresh {
			return nil // the registry was empty when the load began
		}
		for i, p := range batch {
			var o Person
			err := getJSON(txn, recordKey(kindPerson, p.ENP), &o)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			old[i] = &o
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, p := range batch {
		o := old[i]
		if o != nil && o.same(p) {
			st.Unchanged++
			continue
		}
		p.setVersion()
		val, err := jsonMarshal(p)
		if err != nil {
			return err
		}
		pk := recordKey(kindPerson, p.ENP)
		if err := wb.Set(pk, val); err != nil {
			return err
		}
		nk := p.indexKeys()
		if o != nil {
			st.Updated++
			for _, k := range o.indexKeys() {
				if !containsKey(nk, k) {
					if err := wb.Delete(k); err != nil {
						return err
					}
				}
			}
		} else {
			st.Inserted++
		}
		for _, k := range nk {
			if err := wb.Set(k, pk); err != nil {
				return err
			}
		}
	}
	return nil
}

// PersonQuery is a registry search: any of surname, name, patronymic (each
// a prefix, case-insensitive, ё = е) and the date of birth (YYYY-MM-DD or
// DD.MM.YYYY, exact). At least one must be given.
type PersonQuery struct {
	Surname, Name, Patronymic, Birth string
}

// SearchLimit is the most persons a search returns (manual 5.1.3).
const SearchLimit = 10

// searchScan caps the index keys one search pass looks at, so a query
// like "и" stays fast; narrower queries find the rest.
const searchScan = 4000

// searchFound caps the candidates collected before ranking. The first
// pass reads exact surnames (or names) first, so the best matches are
// among the first found.
const searchFound = 100

type candidate struct {
	s, n, p, b, enp string
	score           int // query fields matched exactly
	extra           int // bytes of the queried fields beyond the query
}

// SearchPersons finds at most 10 persons matching q, best first: more
// name parts matched exactly rank higher, then names that extend the typed
// prefixes least, then alphabetical order.
// The search is audited (the query's shape, not its values).
func (j *Journal) SearchPersons(ctx context.Context, who Actor, q PersonQuery) ([]Person, error) {
	if !Allowed(who.Role, ActionRead, ResourcePerson) {
		return nil, fmt.Errorf("search persons: %w: role %s", ErrDenied, who.Role)
	}
	s, n, p := lists.Fold(q.Surname), lists.Fold(q.Name), lists.Fold(q.Patronymic)
	b := ""
	if strings.TrimSpace(q.Birth) != "" {
		d, err := lists.ParseDate(q.Birth)
		if err != nil {
			return nil, fmt.Errorf("search persons: %w", &FieldError{"birth", err.Error()})
		}
		b = d.Format(time.DateOnly)
	}
	if s == "" && n == "" && p == "" && b == "" {
		return nil, fmt.Errorf("search persons: %w: fill at least one of surname, name, patronymic, date of birth", ErrInvalid)
	}
	// Passes, most specific first: each is an index prefix whose keys are
	// then filtered on all fields.
	type pass struct {
		idx    string
		prefix [][]byte
		open   bool // last part is a prefix, not a whole value
	}
	var passes []pass
	switch {
	case b != "" && s != "":
		passes = []pass{{idxPBirth, [][]byte{[]byte(b), []byte(s), nil}, false}, {idxPBirth, [][]byte{[]byte(b), []byte(s)}, true}}
	case b != "":
		passes = []pass{{idxPBirth, [][]byte{[]byte(b), nil}, false}}
	case s != "" && n != "":
		passes = []pass{{idxPSurname, [][]byte{[]byte(s), []byte(n)}, true}, {idxPSurname, [][]byte{[]byte(s)}, true}}
	case s != "":
		passes = []pass{{idxPSurname, [][]byte{[]byte(s), nil}, false}, {idxPSurname, [][]byte{[]byte(s)}, true}}
	case n != "" && p != "":
		passes = []pass{{idxPName, [][]byte{[]byte(n), []byte(p)}, true}, {idxPName, [][]byte{[]byte(n)}, true}}
	case n != "":
		passes = []pass{{idxPName, [][]byte{[]byte(n), nil}, false}, {idxPName, [][]byte{[]byte(n)}, true}}
	default:
		passes = []pass{{idxPPatr, [][]byte{[]byte(p), nil}, false}, {idxPPatr, [][]byte{[]byte(p)}, true}}
	}
	sb, nb, pb := []byte(s), []byte(n), []byte(p)
	found := map[string]*candidate{}
	var out []Person
	err := j.view(ctx, func(txn *badger.Txn) error {
		for _, ps := range passes {
			prefix := ikey(ps.idx, ps.prefix...)
			scanned := 0
			base := len(ikey(ps.idx))
			err := scanIndex(txn, prefix, nil, false, func(k, _ []byte) (bool, error) {
				scanned++
				var parts [5][]byte
				rest := k[base:]
				for i := 0; i < 4; i++ {
					n := bytes.IndexByte(rest, 0)
					if n < 0 {
						return true, nil
					}
					parts[i], rest = rest[:n], rest[n+1:]
				}
				parts[4] = rest
				// Order the parts as surname, name, patronymic, birth.
				var ks, kn, kp, kb []byte
				switch ps.idx {
				case idxPSurname:
					ks, kn, kp, kb = parts[0], parts[1], parts[2], parts[3]
				case idxPName:
					kn, kp, ks, kb = parts[0], parts[1], parts[2], parts[3]
				case idxPPatr:
					kp, ks, kn, kb = parts[0], parts[1], parts[2], parts[3]
				case idxPBirth:
					kb, ks, kn, kp = parts[0], parts[1], parts[2], parts[3]
				}
				if !bytes.HasPrefix(ks, sb) || !bytes.HasPrefix(kn, nb) || !bytes.HasPrefix(kp, pb) || (b != "" && string(kb) != b) {
					return scanned < searchScan, nil
				}
				if found[string(parts[4])] != nil {
					return scanned < searchScan, nil
				}
				c := candidate{s: string(ks), n: string(kn), p: string(kp), b: string(kb), enp: string(parts[4])}
				for _, x := range [][2]string{{c.s, s}, {c.n, n}, {c.p, p}} {
					if x[1] != "" {
						if x[0] == x[1] {
							c.score++
						}
						c.extra += len(x[0]) - len(x[1])
					}
				}
				found[c.enp] = &c
				return scanned < searchScan && len(found) < searchFound, nil
			})
			if err != nil {
				return err
			}
			if len(found) >= SearchLimit {
				break
			}
		}
		cands := make([]*candidate, 0, len(found))
		for _, c := range found {
			cands = append(cands, c)
		}
		slices.SortFunc(cands, func(x, y *candidate) int {
			if x.score != y.score {
				return y.score - x.score
			}
			if d := x.extra - y.extra; d != 0 {
				return d
			}
			return cmp.Or(strings.Compare(x.s, y.s), strings.Compare(x.n, y.n), strings.Compare(x.p, y.p),
				strings.Compare(x.b, y.b), strings.Compare(x.enp, y.enp))
		})
		if len(cands) > SearchLimit {
			cands = cands[:SearchLimit]
		}
		for _, c := range cands {
			var per Person
			if err := getJSON(txn, recordKey(kindPerson, c.enp), &per); err != nil {
				return fmt.Errorf("person %s: %w", c.enp, err)
			}
			out = append(out, per)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search persons: %w", err)
	}
	detail := fmt.Sprintf("by surname=%v name=%v patronymic=%v birth=%v, %d found", s != "", n != "", p != "", b != "", len(out))
	if err := j.auditRead(ctx, who, "search", "registry:", "", detail); err != nil {
		return nil, err
	}
	return out, nil
}

// Person returns the registry card of a person by ENP; the read is audited.
func (j *Journal) Person(ctx context.Context, who Actor, enp string) (*Person, error) {
	if !Allowed(who.Role, ActionRead, ResourcePerson) {
		return nil, fmt.Errorf("person: %w: role %s", ErrDenied, who.Role)
	}
	var p Person
	if err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindPerson, enp), &p) }); err != nil {
		return nil, fmt.Errorf("person %s: %w", enp, err)
	}
	if err := j.auditRead(ctx, who, "read", "person:"+enp, enp, ""); err != nil {
		return nil, err
	}
	return &p, nil
}

// PersonsByPhone returns the registry persons with the given phone (the
// caller's number), at most 10; the read is audited.
func (j *Journal) PersonsByPhone(ctx context.Context, who Actor, phone string) ([]Person, error) {
	if !Allowed(who.Role, ActionRead, ResourcePerson) {
		return nil, fmt.Errorf("persons by phone: %w: role %s", ErrDenied, who.Role)
	}
	ph, err := lists.NormalizePhone(phone)
	if err != nil {
		return nil, fmt.Errorf("persons by phone: %w", &FieldError{"phone", err.Error()})
	}
	var out []Person
	err = j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxPPhone, []byte(ph), nil), nil, false, func(_, pk []byte) (bool, error) {
			var p Person
			if err := getJSON(txn, pk, &p); err != nil {
				return false, err
			}
			out = append(out, p)
			return len(out) < SearchLimit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("persons by phone: %w", err)
	}
	if err := j.auditRead(ctx, who, "search", "registry:", "", fmt.Sprintf("by phone, %d found", len(out))); err != nil {
		return nil, err
	}
	return out, nil
}
