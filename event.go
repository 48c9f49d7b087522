package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// Event describes one authentication outcome, for [Config.OnSuccess] and
// [Config.OnFailure]. It never holds the credential itself; use
// [Event.Fingerprint] to correlate failures of one credential in logs.
type Event struct {
	// Request is the request being authenticated. Hooks must not read its
	// body or keep it after returning.
	Request *http.Request
	// Principal is the authenticated caller, on success and on
	// insufficient-scope failures; nil otherwise.
	Principal *Principal
	// CredentialID is the ID the presented credential claims to be, on
	// failures, when its verifier implements [CredentialIDer] (an API
	// key's ID): unverified, so it may name a key that does not exist.
	// Empty otherwise; on success use Principal.CredentialID.
	CredentialID string
	// Err is the reason for a failure, wrapping one of the package's
	// sentinel errors (match with errors.Is); nil on success.
	Err error
	// Elapsed is the time spent authenticating, verification included.
	// Zero where nothing was verified (scope checks, HTTPS refusals).
	Elapsed time.Duration

	credential string
}

// Fingerprint returns a short, stable, non-reversible identifier of the
// credential the request presented (the first 12 hex digits of its
// SHA-256), or "" when there was none. It is safe to log: it lets an
// operator see that many failures came from one credential without
// recording anything that authenticates.
func (e Event) Fingerprint() string {
	if e.credential == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(e.credential))
	return hex.EncodeToString(sum[:6])
}

// LogFailures returns a [Config.OnFailure] hook that logs one line per
// failure at level Warn (Error for an unavailable verifier) to logger, with
// the reason, the client address, the request method and path, and the
// credential's fingerprint. It never logs a credential. A nil logger makes
// a hook that does nothing; the package never logs on its own.
func LogFailures(logger *slog.Logger) func(Event) {
	return func(e Event) {
		if logger == nil {
			return
		}
		level := slog.LevelWarn
		if kindOf(e.Err) == failUnavailable {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("reason", errString(e.Err)),
		}
		if r := e.Request; r != nil {
			attrs = append(attrs,
				slog.String("remote_addr", r.RemoteAddr),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
			)
		}
		if fp := e.Fingerprint(); fp != "" {
			attrs = append(attrs, slog.String("credential_fingerprint", fp))
		}
		if e.CredentialID != "" {
			attrs = append(attrs, slog.String("claimed_credential_id", e.CredentialID))
		}
		if p := e.Principal; p != nil {
			attrs = append(attrs, slog.String("subject", p.Subject), slog.String("credential_id", p.CredentialID))
		}
		ctx := context.Background()
		if e.Request != nil {
			ctx = e.Request.Context()
		}
		logger.LogAttrs(ctx, level, "authentication failed", attrs...)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
