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
	Rows      int `json:"rows"` // valid rows read
	Inserted  int `json:"inserted"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"` // rows with errors (see the error list)
	// WithPhone counts the valid rows that have a phone number (the
	// persons a campaign can call).
	WithPhone int `json:"with_phone"`
	// Blank counts the rows with every cell empty, skipped; BlankLines
	// are the lines of the first of them (lists.MaxBlankLines).
	Blank      int   `json:"blank"`
	BlankLines []int `json:"blank_lines,omitempty"`
	// Ignored names the file's columns that the registry does not keep
	// (a survey list's year, health group or diagnosis, unknown headers).
	Ignored  []string      `json:"ignored_columns,omitempty"`
	Encoding string        `json:"encoding,omitempty"`
	Took     time.Duration `json:"took"`
}

// registryFields are the fields the registry keeps of a list's row.
var registryFields = []lists.Field{lists.FieldSurname, lists.FieldName, lists.FieldPatronymic, lists.FieldFullName,
	lists.FieldBirth, lists.FieldENP, lists.FieldPhone, lists.FieldMOCode, lists.FieldMOName, lists.FieldAddress}

// ignoredColumns names the columns of m's header whose data the registry
// does not keep (headers left empty are not named).
func ignoredColumns(m *lists.Mapper) []string {
	var out []string
	for i, f := range m.Fields() {
		if h := strings.TrimSpace(m.Header()[i]); h != "" && !slices.Contains(registryFields, f) {
			out = append(out, h)
		}
	}
	return out
}

// loadBatch is how many rows a registry load prepares per batch.
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
	st.Ignored = ignoredColumns(lr.Mapper())
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
	// Three stages overlap: a reader goroutine parses and validates rows
	// into batches; a preparer reads each batch's stored versions in one
	// read transaction and encodes records and index keys; this goroutine
	// only hands the keys to one WriteBatch spanning the whole load
	// (Badger commits it in large transactions, in the background).
	// Reading stored versions ahead of the writer is safe because a file
	// never holds one ENP twice (the reader rejects duplicates) and loads
	// are serialized.
	var rowErrs []*lists.RowError
	var rejected, withPhone int
	now := j.now()
	parsed := make(chan []*Person, 2)
	prepared := make(chan *preparedBatch, 2)
	readErr := make(chan error, 1)
	prepErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(parsed)
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
			if row.Phone != "" {
				withPhone++
			}
			batch = append(batch, &Person{V: personVersion, ENP: row.ENP, Surname: row.Surname, Name: row.Name,
				Patronymic: row.Patronymic, Birth: row.Birth, Phone: row.Phone, Address: row.Address,
				MOCode: row.MOCode, MOName: row.MOName, Source: source, Updated: now})
			if len(batch) == loadBatch {
				select {
				case parsed <- batch:
				case <-stop:
					return
				}
				batch = make([]*Person, 0, loadBatch)
			}
		}
		if len(batch) > 0 {
			select {
			case parsed <- batch:
			case <-stop:
			}
		}
		readErr <- nil
	}()
	var pst LoadStats // counted by the preparer, read after prepared closes
	go func() {
		defer close(prepared)
		for batch := range parsed {
			pb, err := j.preparePersons(batch, fresh, &pst)
			if err != nil {
				prepErr <- err
				return
			}
			select {
			case prepared <- pb:
			case <-stop:
				return
			}
		}
		prepErr <- nil
	}()
	lw := j.newLoadWriter()
	var werr error
	for pb := range prepared {
		if werr == nil {
			werr = ctx.Err()
		}
		if werr == nil {
			if werr = pb.write(lw); werr != nil {
				j.noteWriteError("registry load", werr)
			}
		}
		if werr != nil {
			close(stop)
			for range prepared {
			}
			for range parsed {
			}
			break
		}
	}
	if werr == nil {
		werr = <-prepErr
	}
	if werr == nil {
		werr = <-readErr
	}
	if werr == nil {
		if werr = lw.flush(); werr != nil {
			j.noteWriteError("registry load", werr)
		}
	} else {
		lw.cancel()
	}
	if werr == nil && j.opts.SyncWrites {
		if werr = j.db.Sync(); werr != nil {
			j.noteWriteError("registry load", werr)
		}
	}
	if werr == nil {
		j.settleAfterLoad()
	}
	st.Rows, st.Inserted, st.Updated, st.Unchanged = pst.Rows, pst.Inserted, pst.Updated, pst.Unchanged
	st.Rejected, st.WithPhone = rejected, withPhone
	st.Blank, st.BlankLines = lr.Blank, lr.BlankLines
	if werr != nil {
		return st, rowErrs, fmt.Errorf("load registry %s: %w", source, werr)
	}
	st.Took = time.Since(start)
	detail := fmt.Sprintf("rows %d inserted %d updated %d unchanged %d rejected %d blank %d", st.Rows, st.Inserted, st.Updated, st.Unchanged, st.Rejected, st.Blank)
	if err := j.update(ctx, func(txn *badger.Txn) error { return j.audit(txn, who, "load", "registry:"+source, "", detail) }); err != nil {
		return st, rowErrs, err
	}
	j.log.Info("registry loaded", "source", source, "rows", st.Rows, "inserted", st.Inserted, "updated", st.Updated,
		"rejected", st.Rejected, "took", st.Took)
	return st, rowErrs, nil
}

// settleL0 is how many level-0 tables a bulk load may leave before it
// compacts them away.
const settleL0 = 4

// settleAfterLoad compacts the tables a bulk load left in level 0 into
// the levels below (two workers). Level-0 tables each span the whole key
// range and Badger compacts them only once 20 pile up (see Open), so
// without this every registry search merges up to 19 of them, and the
// first compaction that later writes trigger is a large one competing
// with searches. At 1M rows it took 7 s and search p50/p99 right after
// the load went from 476/1175 µs to 337/704 µs; run in the background
// instead, it raised p99 to 5.9 ms while it ran. The load is already
// durable here, so a failure is logged, not returned: an error from
// LoadRegistry means nothing was acknowledged.
//
// Limits: Flatten leaves level 0 alone when it holds all the data (a
// first load of up to ~500k rows into an empty journal leaves up to 19
// tables there: search p50/p99 727/1672 µs at 300k rows), and memtables
// still being flushed land in level 0 after it.
func (j *Journal) settleAfterLoad() {
	l0 := j.db.Levels()[0].NumTables
	if l0 < settleL0 {
		return
	}
	start := time.Now()
	if err := j.db.Flatten(2); err != nil {
		j.log.Warn("registry: compact after load", "level0_tables", l0, "err", err, "hint", "the load is saved; searches stay slower until Badger compacts by itself")
		return
	}
	j.log.Info("registry: compacted after load", "level0_tables", l0, "took", time.Since(start))
}

// preparedBatch is a batch of persons encoded for writing: the entries
// of person i are ents[ends[i-1]:ends[i]] (its record, the stale index
// keys of the version it replaces, its index keys).
type preparedBatch struct {
	ents []loadEntry
	ends []int
}

// loadEntry is one key to set to val, or to delete.
type loadEntry struct {
	key, val []byte
	del      bool
}

func (pb *preparedBatch) write(lw *loadWriter) error {
	start := 0
	for _, end := range pb.ends {
		if err := lw.add(pb.ents[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// keyArena hands out byte slices carved from large chunks, so a batch's
// keys cost a few allocations instead of one each.
type keyArena struct{ buf []byte }

func (a *keyArena) alloc(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(n, 64<<10))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l : l+n]
}

// ikey is the package's ikey, carved from the arena.
func (a *keyArena) ikey(index string, parts ...[]byte) []byte {
	n := len(spaceIndex) + len(index) + 1 + len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := a.alloc(n)
	b = append(b, spaceIndex...)
	b = append(b, index...)
	b = append(b, '/')
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// appendIndexKeys appends p's index keys (as Person.indexKeys) to keys.
func (p *Person) appendIndexKeys(a *keyArena, keys [][]byte) [][]byte {
	s, n, pa := []byte(lists.Fold(p.Surname)), []byte(lists.Fold(p.Name)), []byte(lists.Fold(p.Patronymic))
	b, e := []byte(p.Birth), []byte(p.ENP)
	keys = append(keys,
		a.ikey(idxPSurname, s, n, pa, b, e),
		a.ikey(idxPName, n, pa, s, b, e),
		a.ikey(idxPBirth, b, s, n, pa, e))
	if len(pa) > 0 {
		keys = append(keys, a.ikey(idxPPatr, pa, s, n, b, e))
	}
	if p.Phone != "" {
		keys = append(keys, a.ikey(idxPPhone, []byte(p.Phone), e))
	}
	return keys
}

// preparePersons reads the stored versions of a batch (one read
// transaction, in key order) and encodes what must be written: the
// records that are new or changed, their index keys and the stale index
// keys of the versions they replace.
func (j *Journal) preparePersons(batch []*Person, fresh bool, st *LoadStats) (*preparedBatch, error) {
	st.Rows += len(batch)
	old := make([]*Person, len(batch))
	if !fresh {
		order := make([]int, len(batch))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return strings.Compare(batch[x].ENP, batch[y].ENP) })
		err := j.db.View(func(txn *badger.Txn) error {
			for _, i := range order {
				var o Person
				err := getJSON(txn, recordKey(kindPerson, batch[i].ENP), &o)
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
			return nil, err
		}
	}
	pb := &preparedBatch{ents: make([]loadEntry, 0, 7*len(batch)), ends: make([]int, 0, len(batch))}
	var a keyArena
	var nk [][]byte
	for i, p := range batch {
		o := old[i]
		if o != nil && o.same(p) {
			st.Unchanged++
			continue
		}
		val, err := jsonMarshal(p)
		if err != nil {
			return nil, err
		}
		pk := a.alloc(len(spaceRecord) + len(kindPerson) + 1 + len(p.ENP))
		pk = append(append(append(append(pk, spaceRecord...), kindPerson...), '/'), p.ENP...)
		pb.ents = append(pb.ents, loadEntry{key: pk, val: val})
		nk = p.appendIndexKeys(&a, nk[:0])
		if o != nil {
			st.Updated++
			for _, k := range o.indexKeys() {
				if !containsKey(nk, k) {
					pb.ents = append(pb.ents, loadEntry{key: k, del: true})
				}
			}
		} else {
			st.Inserted++
		}
		for _, k := range nk {
			pb.ents = append(pb.ents, loadEntry{key: k, val: pk})
		}
		pb.ends = append(pb.ends, len(pb.ents))
	}
	return pb, nil
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
