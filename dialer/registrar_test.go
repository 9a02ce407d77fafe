package dialer

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// fakeCreds holds plain secrets and hashes them like the journal does.
type fakeCreds map[string]string

func (f fakeCreds) SIPCredentials(_ context.Context, user string) (string, string, string, error) {
	secret, ok := f[user]
	if !ok {
		return "", "", "", errors.New("no such account")
	}
	s := user + ":obzvon:" + secret
	m, h := md5.Sum([]byte(s)), sha256.Sum256([]byte(s))
	return "obzvon", hex.EncodeToString(m[:]), hex.EncodeToString(h[:]), nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestRegistrar() (*Registrar, *clock) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	r := NewRegistrar(fakeCreds{"1001": "secret-1001"}, RegistrarOptions{Now: c.now, Algorithms: []string{"SHA-256", "MD5"}})
	return r, c
}

var regSeq uint32

func register(t *testing.T, user, contact, expires string, extra ...sip.Header) *sip.Request {
	t.Helper()
	regSeq++
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from := &sip.FromHeader{Address: to.Address, Params: sip.NewParams()}
	from.Params.Add("tag", "t1")
	callID := sip.CallIDHeader("reg-call-1")
	req.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5999, Params: sip.NewParams()})
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: regSeq, MethodName: sip.REGISTER})
	if contact != "" {
		req.AppendHeader(sip.NewHeader("Contact", contact))
	}
	if expires != "" {
		req.AppendHeader(sip.NewHeader("Expires", expires))
	}
	for _, h := range extra {
		req.AppendHeader(h)
	}
	// Re-parse so Contact headers are typed as the transport would give them.
	parsed, err := sip.ParseMessage([]byte(req.String()))
	if err != nil {
		t.Fatalf("parse REGISTER: %v\n%s", err, req)
	}
	return parsed.(*sip.Request)
}

// answer signs req against the challenge in res with password.
func answer(t *testing.T, req *sip.Request, res *sip.Response, user, password, alg string) *sip.Request {
	t.Helper()
	var chal *digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("challenge %q: %v", h.Value(), err)
		}
		if c.Algorithm == alg {
			chal = c
		}
	}
	if chal == nil {
		t.Fatalf("no %s challenge in %s", alg, res)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1", Username: user, Password: password, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	signed := register(t, user, req.GetHeader("Contact").Value(), "", sip.NewHeader("Authorization", cred.String()))
	if e := req.GetHeader("Expires"); e != nil {
		signed.AppendHeader(sip.NewHeader("Expires", e.Value()))
	}
	return signed
}

func TestRegisterChallengeThenBind(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			r, c := newTestRegistrar()
			req := register(t, "1001", "<sip:1001@127.0.0.1:5999>", "120")
			res := r.respond(req)
			if res.StatusCode != 401 || len(res.GetHeaders("WWW-Authenticate")) != 2 {
				t.Fatalf("first REGISTER = %d with %d challenges, want 401 with 2", res.StatusCode, len(res.GetHeaders("WWW-Authenticate")))
			}
			ok := r.respond(answer(t, req, res, "1001", "secret-1001", alg))
			if ok.StatusCode != 200 || !strings.Contains(ok.String(), "expires=120") {
				t.Fatalf("signed REGISTER = %d, want 200 with expires=120:\n%s", ok.StatusCode, ok)
			}
			b := r.Lookup("1001")
			if len(b) != 1 || b[0].Contact != "sip:1001@127.0.0.1:5999" {
				t.Fatalf("Lookup = %+v, want the one contact", b)
			}
			c.t = c.t.Add(121 * time.Second)
			if b := r.Lookup("1001"); len(b) != 0 {
				t.Errorf("Lookup after expiry = %+v, want none", b)
			}
		})
	}
}

func TestRegisterRefusals(t *testing.T) {
	r, c := newTestRegistrar()
	req := register(t, "1001", "<sip:1001@127.0.0.1:5999>", "120")
	chal := r.respond(req)

	if res := r.respond(answer(t, req, chal, "1001", "wrong", "MD5")); res.StatusCode != 403 {
		t.Errorf("wrong password = %d, want 403", res.StatusCode)
	}
	if res := r.respond(answer(t, register(t, "1002", "<sip:1002@127.0.0.1:5999>", "120"), chal, "1002", "x", "MD5")); res.StatusCode != 403 {
		t.Errorf("unknown user = %d, want 403", res.StatusCode)
	}
	// Username in the credentials must be the To user.
	signed := answer(t, req, chal, "1001", "secret-1001", "MD5")
	signed.To().Address.User = "1003"
	if res := r.respond(signed); res.StatusCode != 403 {
		t.Errorf("credentials for another user = %d, want 403", res.StatusCode)
	}
	// A replayed request (same nonce, same nc) is challenged again.
	good := answer(t, req, chal, "1001", "secret-1001", "MD5")
	if res := r.respond(good); res.StatusCode != 200 {
		t.Fatalf("good = %d", res.StatusCode)
	}
	if res := r.respond(good); res.StatusCode != 401 || !strings.Contains(res.String(), "stale=true") {
		t.Errorf("replay = %d, want 401 stale", res.StatusCode)
	}
	// An expired nonce gets stale=true, not 403.
	c.t = c.t.Add(10 * time.Minute)
	if res := r.respond(answer(t, req, chal, "1001", "secret-1001", "MD5")); res.StatusCode != 401 || !strings.Contains(res.String(), "stale=true") {
		t.Errorf("old nonce = %d, want 401 stale", res.StatusCode)
	}
	// Too brief an interval.
	short := register(t, "1001", "<sip:1001@127.0.0.1:5999>", "10")
	fresh := r.respond(short)
	if res := r.respond(answer(t, short, fresh, "1001", "secret-1001", "MD5")); res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil {
		t.Errorf("expires 10 = %d, want 423 with Min-Expires", res.StatusCode)
	}
	// Malformed Authorization.
	bad := register(t, "1001", "<sip:1001@127.0.0.1:5999>", "120", sip.NewHeader("Authorization", "Basic abc"))
	if res := r.respond(bad); res.StatusCode != 400 {
		t.Errorf("Basic auth = %d, want 400", res.StatusCode)
	}
}

func TestUnregisterAll(t *testing.T) {
	r, _ := newTestRegistrar()
	for _, ct := range []string{"<sip:1001@127.0.0.1:5999>", "<sip:1001@127.0.0.1:6001>"} {
		req := register(t, "1001", ct, "300")
		if res := r.respond(answer(t, req, r.respond(req), "1001", "secret-1001", "MD5")); res.StatusCode != 200 {
			t.Fatalf("register %s = %d", ct, res.StatusCode)
		}
	}
	if n := len(r.Lookup("1001")); n != 2 {
		t.Fatalf("%d bindings, want 2", n)
	}
	req := register(t, "1001", "*", "0")
	if res := r.respond(answer(t, req, r.respond(req), "1001", "secret-1001", "MD5")); res.StatusCode != 200 {
		t.Fatalf("unregister * = %d", res.StatusCode)
	}
	if n := len(r.Lookup("1001")); n != 0 {
		t.Errorf("%d bindings after Contact: *, want 0", n)
	}
}
