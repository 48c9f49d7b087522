package auth

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogFailures(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	a, _ := newTestAuthenticator(t, Config{OnFailure: LogFailures(logger)})
	h := a.Handler(okHandler())

	const secret = "k_unknown_secret_value"
	r := httptest.NewRequest("GET", "/v1/data?x=1", nil)
	r.RemoteAddr = "198.51.100.4:5555"
	r.Header.Set("Authorization", "Bearer "+secret)
	h.ServeHTTP(httptest.NewRecorder(), r)
	r = httptest.NewRequest("GET", "/v1/data", nil)
	r.Header.Set("Authorization", "Bearer k_down")
	h.ServeHTTP(httptest.NewRecorder(), r)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}
	if strings.Contains(buf.String(), secret) {
		t.Fatal("the log contains the credential")
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	for k, want := range map[string]any{
		"level": "WARN", "msg": "authentication failed", "reason": "stub: auth: unknown credential",
		"remote_addr": "198.51.100.4:5555", "method": "GET", "path": "/v1/data",
	} {
		if first[k] != want {
			t.Errorf("%s = %v, want %v", k, first[k], want)
		}
	}
	if fp, _ := first["credential_fingerprint"].(string); len(fp) != 12 {
		t.Errorf("credential_fingerprint = %v, want 12 hex digits", first["credential_fingerprint"])
	}
	// An outage is an error for the operator, not a caller's mistake.
	if second["level"] != "ERROR" {
		t.Errorf("unavailable logged at %v, want ERROR", second["level"])
	}
	// A nil logger is a hook that does nothing.
	LogFailures(nil)(Event{Err: ErrExpired})
}

func TestEventCredentialID(t *testing.T) {
	var got []Event
	a, err := New(Config{Verifiers: []Verifier{&idVerifier{}}, OnFailure: func(e Event) { got = append(got, e) }})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(okHandler())
	for _, cred := range []string{"k_abc_wrong", "k_nounderscores", ""} {
		got = nil
		h.ServeHTTP(httptest.NewRecorder(), req("192.0.2.1:1", cred))
		want := map[string]string{"k_abc_wrong": "abc"}[cred]
		if len(got) != 1 || got[0].CredentialID != want {
			t.Errorf("%q: events %+v, want one with CredentialID %q", cred, got, want)
		}
	}
}
