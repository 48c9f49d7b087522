package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "https://api.example/v1/data", nil)
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Authorization", "Bearer k_bench")
	return r
}

// BenchmarkBaseline is the bare no-op handler: the floor the chain is
// measured against in the same run.
func BenchmarkBaseline(b *testing.B) {
	r := benchRequest()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		noop.ServeHTTP(w, r)
	}
}

// BenchmarkAuthenticator serves one request through RequireHTTPS →
// Authenticator.Handler → RequireScopes → the no-op handler, with a
// verifier that returns a fixed principal.
func BenchmarkAuthenticator(b *testing.B) {
	p := &Principal{Subject: "app", Method: MethodAPIKey, Scopes: MustScopes("data:read", "data:write")}
	v := VerifierFunc(func(context.Context, string) (*Principal, error) { return p, nil })
	a, err := New(Config{Verifiers: []Verifier{v}})
	if err != nil {
		b.Fatal(err)
	}
	h := RequireHTTPS(HTTPSConfig{})(a.Handler(RequireScopes("data:read")(noop)))
	r := benchRequest()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkAuthenticatorMalformed is the cheapest refusal: a credential
// that fails the b64token check, answered without any verifier.
func BenchmarkAuthenticatorMalformed(b *testing.B) {
	v := VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrInvalidCredential })
	a, err := New(Config{Verifiers: []Verifier{v}})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler(noop)
	r := benchRequest()
	r.Header.Set("Authorization", `Bearer bad"token`)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkAuthenticatorRefused is a verifier's refusal through the
// whole chain: the cost of classifying its error and answering. The
// errors are fixed values, as verifiers return them: a root sentinel, a
// package's reason wrapped together with a root sentinel (the shape jwt
// and dpop used), and an unavailable store.
func BenchmarkAuthenticatorRefused(b *testing.B) {
	reason := errors.New("pkg: token expired")
	for _, bc := range []struct {
		name string
		err  error
		code int
	}{
		{"root", ErrExpired, http.StatusUnauthorized},
		{"wrapped", fmt.Errorf("%w: %w", ErrExpired, reason), http.StatusUnauthorized},
		{"unavailable", fmt.Errorf("%w: %w", ErrUnavailable, reason), http.StatusServiceUnavailable},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, bc.err })
			a, err := New(Config{Verifiers: []Verifier{v}})
			if err != nil {
				b.Fatal(err)
			}
			h := RequireHTTPS(HTTPSConfig{})(a.Handler(RequireScopes("data:read")(noop)))
			r := benchRequest()
			w := &statusWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			if w.code != bc.code {
				b.Fatalf("status %d, want %d", w.code, bc.code)
			}
		})
	}
}

// statusWriter is a discardWriter that keeps the status.
type statusWriter struct {
	h    http.Header
	code int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkAuthenticatorThrottled is BenchmarkAuthenticator with the
// default Throttle: the price of counting attempts on a request that
// fails nothing.
func BenchmarkAuthenticatorThrottled(b *testing.B) {
	p := &Principal{Subject: "app", Method: MethodAPIKey, Scopes: MustScopes("data:read", "data:write")}
	v := VerifierFunc(func(context.Context, string) (*Principal, error) { return p, nil })
	th, err := NewThrottle(ThrottleConfig{})
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{Verifiers: []Verifier{v}, Throttle: th})
	if err != nil {
		b.Fatal(err)
	}
	h := RequireHTTPS(HTTPSConfig{})(a.Handler(RequireScopes("data:read")(noop)))
	r := benchRequest()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
