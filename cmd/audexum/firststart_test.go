package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConcurrentFirstStart: 4 serve processes started at the same moment
// on a fresh data directory all come up, serve the same certificate, and
// accept each other's tokens (20 rounds; SQLite, then PostgreSQL with a
// shared data directory).
func TestConcurrentFirstStart(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		for round := range 20 {
			concurrentFirstStart(t, round, newBareEnv(t))
		}
	})
	t.Run("postgres", func(t *testing.T) {
		for round := range 20 {
			e := newPostgresEnv(t)
			// A fresh data directory: no certificate, no key file.
			if err := os.Remove(filepath.Join(e.dataDir, "audexum.db")); err != nil {
				t.Fatal(err)
			}
			concurrentFirstStart(t, round, e)
		}
	})
}

func concurrentFirstStart(t *testing.T, round int, e *env) {
	t.Helper()
	const n = 4
	servers := make([]*server, n)
	for i := range servers {
		// One issuer for the fleet, as README's multi-instance setup says
		// (each instance's own address would make four).
		servers[i] = e.launchServer("--issuer", "https://audexum.test")
	}
	for i, s := range servers {
		if err := s.waitReady(60 * time.Second); err != nil {
			t.Fatalf("round %d: instance %d: %v", round, i, err)
		}
	}
	want, err := os.ReadFile(filepath.Join(e.dataDir, "tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(want)
	for i, s := range servers {
		u, _ := url.Parse(s.url)
		conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("round %d: instance %d: %v", round, i, err)
		}
		got := conn.ConnectionState().PeerCertificates[0].Raw
		conn.Close()
		if block == nil || !bytes.Equal(got, block.Bytes) {
			t.Errorf("round %d: instance %d serves another certificate than %s", round, i, "tls-cert.pem")
		}
	}
	var c client
	e.jsonOK(&c, "client", "create", "--name", "backend", "--type", "server", "--scope", "data:read", "--json")
	for _, s := range servers {
		var tok string
		eventually(t, 3*time.Second, "a token from each instance", func() bool {
			code, body := post(t, s.client, s.url+"/oauth/token", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {*c.ClientSecret}})
			tok = accessToken(body)
			return code == 200 && tok != ""
		})
		for _, other := range servers {
			eventually(t, 3*time.Second, "the token accepted by every instance", func() bool {
				code, _, _ := other.do(t, "GET", "/v1/data", tok, nil)
				return code == 200
			})
		}
	}
	for _, s := range servers {
		s.stop(t)
	}
}

// TestFirstStartKilled: serve killed with SIGKILL at a random moment of
// its first second on a fresh data directory (50 rounds). After each, a
// normal start succeeds, or fails with a message that names a file, and
// no round leaves a certificate and key that do not match.
func TestFirstStartKilled(t *testing.T) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	started := 0
	for round := range 50 {
		e := newBareEnv(t)
		s := e.launchServer()
		// Most of the first start happens in its first few hundred
		// milliseconds: aim there more often than later.
		delay := time.Duration(rng.Int64N(int64(time.Second)))
		if round%2 == 0 {
			delay = time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		}
		time.Sleep(delay)
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		cert, key := filepath.Join(e.dataDir, "tls-cert.pem"), filepath.Join(e.dataDir, "tls-key.pem")
		if _, err := os.Stat(cert); err == nil {
			if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
				t.Fatalf("round %d (killed after %v): certificate and key do not match: %v", round, delay, err)
			}
		}
		again := e.launchServer()
		if err := again.waitReady(60 * time.Second); err != nil {
			msg := err.Error()
			if !strings.Contains(msg, e.dataDir) {
				t.Fatalf("round %d (killed after %v): the next start failed without naming a file: %v", round, delay, err)
			}
			t.Logf("round %d (killed after %v): next start refused, naming the file: %s", round, delay, msg)
			continue
		}
		started++
		if code, _, _ := again.do(t, "GET", "/healthz", "", nil); code != 200 {
			t.Errorf("round %d (killed after %v): healthz after restart: %d", round, delay, code)
		}
		again.stop(t)
	}
	t.Logf("%d of 50 restarts came up; the others refused with a named file", started)
}

func accessToken(body string) string {
	var v struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &v)
	return v.AccessToken
}
