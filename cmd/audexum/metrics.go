package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// metrics are the server's Prometheus metrics. Every label takes values
// from a fixed set: never a credential, an ID from a request, or anything
// else a caller could make unbounded.
type metrics struct {
	reg          *prometheus.Registry
	authn        *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	tokens       *prometheus.CounterVec
	tokenRefused *prometheus.CounterVec
	keyReloads   *prometheus.CounterVec
	storeErrors  *prometheus.CounterVec
	signIns      *prometheus.CounterVec
	latency      *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.authn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_authentications_total",
		Help: "Authentication outcomes at the API, by credential method and reason (\"ok\" for success).",
	}, []string{"method", "outcome"})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_throttled_requests_total",
		Help: "Requests refused with 429: too many failed attempts, or over a rate limit.",
	}, []string{"reason"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_tokens_issued_total",
		Help: "Access tokens issued by the token endpoint, by grant type.",
	}, []string{"grant_type"})
	m.tokenRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_token_requests_refused_total",
		Help: "Token endpoint requests refused, by grant type.",
	}, []string{"grant_type"})
	m.keyReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_signing_key_reloads_total",
		Help: "Reloads of the signing key set (the JWKS this server publishes and verifies with), by outcome.",
	}, []string{"outcome"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_store_errors_total",
		Help: "Errors from the database or key sources, by where they surfaced.",
	}, []string{"source"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "audexum_sign_ins_total",
		Help: "Sign-ins at the consent page, by outcome: ok and wrong computed a password hash; throttled and invalid_username did not.",
	}, []string{"outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "audexum_http_request_duration_seconds",
		Help:    "Request latency by route pattern and status class.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "code"})
	m.reg.MustRegister(m.authn, m.throttled, m.tokens, m.tokenRefused, m.keyReloads, m.storeErrors, m.signIns, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// reasons maps failure sentinels to bounded outcome labels, most specific
// first.
var reasons = []struct {
	err   error
	label string
}{
	{auth.ErrThrottled, "throttled"},
	{auth.ErrRateLimited, "rate_limited"},
	{auth.ErrUnavailable, "unavailable"},
	{auth.ErrNoPrincipal, "no_principal"},
	{auth.ErrNoAccount, "no_account"},
	{auth.ErrInsufficientScope, "insufficient_scope"},
	{auth.ErrCredentialInURL, "credential_in_url"},
	{auth.ErrMultipleAuthorization, "multiple_authorization"},
	{auth.ErrNoCredential, "no_credential"},
	{auth.ErrUnsupportedScheme, "unsupported_scheme"},
	{auth.ErrCredentialTooLong, "too_long"},
	{auth.ErrMalformedCredential, "malformed"},
	{auth.ErrUnknownShape, "unknown_shape"},
	{auth.ErrUseNonce, "dpop_nonce"},
	{auth.ErrInvalidProof, "invalid_dpop_proof"},
	{auth.ErrProofKeyMismatch, "dpop_key_mismatch"},
	{auth.ErrBoundTokenAsBearer, "dpop_token_as_bearer"},
	{auth.ErrTokenNotBound, "dpop_token_not_bound"},
	{auth.ErrProofWithBearer, "dpop_proof_with_bearer"},
	{apikey.ErrSecretMismatch, "secret_mismatch"},
	{apikey.ErrChecksum, "checksum"},
	{jwt.ErrBadSignature, "bad_signature"},
	{jwt.ErrAudience, "wrong_audience"},
	{jwt.ErrIssuer, "wrong_issuer"},
	{auth.ErrExpired, "expired"},
	{auth.ErrRevoked, "revoked"},
	{auth.ErrUnknownCredential, "unknown_credential"},
	{auth.ErrInvalidCredential, "invalid_credential"},
}

func reasonLabel(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

// throttledReason reports whether a reason label is a refusal for too
// many requests or failures rather than a failed authentication: the
// throttled-requests metric, and the portal's Throttled counts.
func throttledReason(label string) bool { return label == "throttled" || label == "rate_limited" }

func methodLabel(p *auth.Principal) string {
	if p == nil {
		return "none"
	}
	return p.Method.String()
}

func (m *metrics) authSuccess(e auth.Event) {
	m.authn.WithLabelValues(methodLabel(e.Principal), "ok").Inc()
}

func (m *metrics) authFailure(e auth.Event) {
	reason := reasonLabel(e.Err)
	m.authn.WithLabelValues(methodLabel(e.Principal), reason).Inc()
	switch {
	case throttledReason(reason):
		m.throttled.WithLabelValues(reason).Inc()
	case reason == "unavailable":
		m.storeErrors.WithLabelValues("authentication").Inc()
	}
}

// grantLabel keeps the grant type label to the known set.
func grantLabel(gt string) string {
	switch gt {
	case oauth.GrantClientCredentials, oauth.GrantAuthorizationCode, oauth.GrantRefreshToken:
		return gt
	}
	return "other"
}

func (m *metrics) oauthEvent(e oauth.Event) {
	switch e.Kind {
	case oauth.EventTokenIssued:
		m.tokens.WithLabelValues(grantLabel(e.GrantType)).Inc()
	case oauth.EventTokenRefused:
		m.tokenRefused.WithLabelValues(grantLabel(e.GrantType)).Inc()
		if errors.Is(e.Err, oauth.ErrUnavailable) {
			m.storeErrors.WithLabelValues("oauth").Inc()
		}
	}
}

// observe records one request's latency. route is the ServeMux pattern
// that matched, so the label set is the server's routes.
func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.latency.WithLabelValues(route, statusClass(status)).Observe(d.Seconds())
}

func statusClass(code int) string {
	switch {
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code >= 300:
		return "3xx"
	default:
		return "2xx"
	}
}
