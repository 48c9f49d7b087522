package auth_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/sqlstore"
)

// sentinels lists every exported sentinel of every package of the module
// with the meaning it must match (the root package's sentinel it shares:
// itself for the root package's own, nil for one that shares none) and
// its exact message. TestSentinelTableComplete fails for a sentinel
// without a row, so none can be added without deciding its meaning.
var sentinels = []struct {
	pkg, name string
	err       error
	meaning   error
	msg       string
}{
	{"auth", "ErrNoCredential", auth.ErrNoCredential, auth.ErrNoCredential, "auth: no credential"},
	{"auth", "ErrUnsupportedScheme", auth.ErrUnsupportedScheme, auth.ErrUnsupportedScheme, "auth: unsupported authorization scheme"},
	{"auth", "ErrMultipleAuthorization", auth.ErrMultipleAuthorization, auth.ErrMultipleAuthorization, "auth: more than one Authorization header"},
	{"auth", "ErrCredentialInURL", auth.ErrCredentialInURL, auth.ErrCredentialInURL, "auth: credential exposed in URL query"},
	{"auth", "ErrMalformedCredential", auth.ErrMalformedCredential, auth.ErrMalformedCredential, "auth: malformed bearer credential"},
	{"auth", "ErrCredentialTooLong", auth.ErrCredentialTooLong, auth.ErrCredentialTooLong, "auth: credential too long"},
	{"auth", "ErrUnknownShape", auth.ErrUnknownShape, auth.ErrUnknownShape, "auth: credential of unknown shape"},
	{"auth", "ErrInvalidCredential", auth.ErrInvalidCredential, auth.ErrInvalidCredential, "auth: invalid credential"},
	{"auth", "ErrUnknownCredential", auth.ErrUnknownCredential, auth.ErrUnknownCredential, "auth: unknown credential"},
	{"auth", "ErrExpired", auth.ErrExpired, auth.ErrExpired, "auth: credential expired"},
	{"auth", "ErrRevoked", auth.ErrRevoked, auth.ErrRevoked, "auth: credential revoked"},
	{"auth", "ErrUnavailable", auth.ErrUnavailable, auth.ErrUnavailable, "auth: verification temporarily unavailable"},
	{"auth", "ErrInsufficientScope", auth.ErrInsufficientScope, auth.ErrInsufficientScope, "auth: insufficient scope"},
	{"auth", "ErrNoPrincipal", auth.ErrNoPrincipal, auth.ErrNoPrincipal, "auth: no authenticated principal"},
	{"auth", "ErrNoAccount", auth.ErrNoAccount, auth.ErrNoAccount, "auth: principal acts for no account"},
	{"auth", "ErrHTTPSRequired", auth.ErrHTTPSRequired, auth.ErrHTTPSRequired, "auth: HTTPS required"},
	{"auth", "ErrThrottled", auth.ErrThrottled, auth.ErrThrottled, "auth: too many failed attempts"},
	{"auth", "ErrRateLimited", auth.ErrRateLimited, auth.ErrRateLimited, "auth: rate limit exceeded"},
	{"auth", "ErrInvalidScope", auth.ErrInvalidScope, auth.ErrInvalidScope, "auth: invalid scope"},
	{"auth", "ErrUnknownScope", auth.ErrUnknownScope, auth.ErrUnknownScope, "auth: unknown scope"},
	{"auth", "ErrNoClaims", auth.ErrNoClaims, auth.ErrNoClaims, "auth: principal has no claims"},
	{"auth", "ErrInvalidConfig", auth.ErrInvalidConfig, auth.ErrInvalidConfig, "auth: invalid config"},
	{"auth", "ErrInvalidProof", auth.ErrInvalidProof, auth.ErrInvalidProof, "auth: invalid DPoP proof"},
	{"auth", "ErrUseNonce", auth.ErrUseNonce, auth.ErrUseNonce, "auth: DPoP nonce required"},
	{"auth", "ErrProofKeyMismatch", auth.ErrProofKeyMismatch, auth.ErrProofKeyMismatch, "auth: DPoP proof key is not the token's key"},
	{"auth", "ErrBoundTokenAsBearer", auth.ErrBoundTokenAsBearer, auth.ErrBoundTokenAsBearer, "auth: DPoP-bound token presented as Bearer"},
	{"auth", "ErrTokenNotBound", auth.ErrTokenNotBound, auth.ErrTokenNotBound, "auth: DPoP scheme with a token that is not DPoP-bound"},
	{"auth", "ErrProofWithBearer", auth.ErrProofWithBearer, auth.ErrProofWithBearer, "auth: DPoP proof sent with a Bearer credential"},
	{"auth", "ErrNotSenderConstrained", auth.ErrNotSenderConstrained, auth.ErrNotSenderConstrained, "auth: route requires a DPoP-bound access token"},
	{"apikey", "ErrMalformed", apikey.ErrMalformed, auth.ErrInvalidCredential, "apikey: malformed key"},
	{"apikey", "ErrWrongPrefix", apikey.ErrWrongPrefix, auth.ErrInvalidCredential, "apikey: wrong key prefix"},
	{"apikey", "ErrWrongEnvironment", apikey.ErrWrongEnvironment, auth.ErrInvalidCredential, "apikey: key environment not accepted"},
	{"apikey", "ErrChecksum", apikey.ErrChecksum, auth.ErrInvalidCredential, "apikey: key checksum mismatch"},
	{"apikey", "ErrSecretMismatch", apikey.ErrSecretMismatch, auth.ErrInvalidCredential, "apikey: secret does not match the key ID"},
	{"apikey", "ErrUnknownPepper", apikey.ErrUnknownPepper, auth.ErrUnavailable, "apikey: key hashed with an unknown pepper version"},
	{"apikey", "ErrNotFound", apikey.ErrNotFound, auth.ErrUnknownCredential, "apikey: key not found"},
	{"apikey", "ErrDuplicateID", apikey.ErrDuplicateID, nil, "apikey: duplicate key ID"},
	{"apikey", "ErrAlreadyRevoked", apikey.ErrAlreadyRevoked, nil, "apikey: key already revoked"},
	{"apikey", "ErrNotActive", apikey.ErrNotActive, nil, "apikey: key is not active"},
	{"apikey", "ErrAlreadyRotated", apikey.ErrAlreadyRotated, nil, "apikey: key already rotated"},
	{"apikey", "ErrInvalidConfig", apikey.ErrInvalidConfig, auth.ErrInvalidConfig, "apikey: invalid config"},
	{"apikey", "ErrInvalidParams", apikey.ErrInvalidParams, nil, "apikey: invalid key parameters"},
	{"apikey", "ErrClosed", apikey.ErrClosed, nil, "apikey: verifier closed"},
	{"jwt", "ErrMalformed", jwt.ErrMalformed, auth.ErrInvalidCredential, "jwt: malformed token"},
	{"jwt", "ErrAlgorithm", jwt.ErrAlgorithm, auth.ErrInvalidCredential, "jwt: algorithm not allowed"},
	{"jwt", "ErrType", jwt.ErrType, auth.ErrInvalidCredential, "jwt: not an access token"},
	{"jwt", "ErrIssuer", jwt.ErrIssuer, auth.ErrInvalidCredential, "jwt: wrong issuer"},
	{"jwt", "ErrUnknownKey", jwt.ErrUnknownKey, auth.ErrInvalidCredential, "jwt: unknown signing key"},
	{"jwt", "ErrBadSignature", jwt.ErrBadSignature, auth.ErrInvalidCredential, "jwt: bad signature"},
	{"jwt", "ErrAudience", jwt.ErrAudience, auth.ErrInvalidCredential, "jwt: wrong audience"},
	{"jwt", "ErrExpired", jwt.ErrExpired, auth.ErrExpired, "jwt: token expired"},
	{"jwt", "ErrNotYetValid", jwt.ErrNotYetValid, auth.ErrInvalidCredential, "jwt: token not yet valid"},
	{"jwt", "ErrLifetimeTooLong", jwt.ErrLifetimeTooLong, auth.ErrInvalidCredential, "jwt: token lifetime too long"},
	{"jwt", "ErrRetiredKey", jwt.ErrRetiredKey, auth.ErrInvalidCredential, "jwt: token issued after its key was retired"},
	{"jwt", "ErrMissingClaim", jwt.ErrMissingClaim, auth.ErrInvalidCredential, "jwt: required claim missing"},
	{"jwt", "ErrInvalidClaim", jwt.ErrInvalidClaim, auth.ErrInvalidCredential, "jwt: invalid claim"},
	{"jwt", "ErrRevoked", jwt.ErrRevoked, auth.ErrRevoked, "jwt: token revoked"},
	{"jwt", "ErrNoKeys", jwt.ErrNoKeys, auth.ErrUnavailable, "jwt: no verification keys available"},
	{"jwt", "ErrRevocationCheck", jwt.ErrRevocationCheck, auth.ErrUnavailable, "jwt: revocation check failed"},
	{"jwt", "ErrFetch", jwt.ErrFetch, auth.ErrUnavailable, "jwt: fetching JWKS failed"},
	{"jwt", "ErrInvalidConfig", jwt.ErrInvalidConfig, auth.ErrInvalidConfig, "jwt: invalid config"},
	{"jwt", "ErrInvalidClaims", jwt.ErrInvalidClaims, nil, "jwt: invalid claims to sign"},
	{"jwt", "ErrKeyStore", jwt.ErrKeyStore, auth.ErrUnavailable, "jwt: key store"},
	{"dpop", "ErrNoProof", dpop.ErrNoProof, auth.ErrInvalidProof, "dpop: no proof"},
	{"dpop", "ErrTooLarge", dpop.ErrTooLarge, auth.ErrInvalidProof, "dpop: proof too large"},
	{"dpop", "ErrMalformed", dpop.ErrMalformed, auth.ErrInvalidProof, "dpop: malformed proof"},
	{"dpop", "ErrType", dpop.ErrType, auth.ErrInvalidProof, "dpop: not a DPoP proof"},
	{"dpop", "ErrAlgorithm", dpop.ErrAlgorithm, auth.ErrInvalidProof, "dpop: algorithm not allowed"},
	{"dpop", "ErrKey", dpop.ErrKey, auth.ErrInvalidProof, "dpop: unusable or private jwk"},
	{"dpop", "ErrSignature", dpop.ErrSignature, auth.ErrInvalidProof, "dpop: bad signature"},
	{"dpop", "ErrMissingClaim", dpop.ErrMissingClaim, auth.ErrInvalidProof, "dpop: required claim missing"},
	{"dpop", "ErrMethod", dpop.ErrMethod, auth.ErrInvalidProof, "dpop: htm is not the request method"},
	{"dpop", "ErrURI", dpop.ErrURI, auth.ErrInvalidProof, "dpop: htu is not the request URI"},
	{"dpop", "ErrIssuedAt", dpop.ErrIssuedAt, auth.ErrInvalidProof, "dpop: iat outside the accepted window"},
	{"dpop", "ErrTokenHash", dpop.ErrTokenHash, auth.ErrInvalidProof, "dpop: ath does not match the access token"},
	{"dpop", "ErrReplay", dpop.ErrReplay, auth.ErrInvalidProof, "dpop: proof replayed"},
	{"dpop", "ErrNonce", dpop.ErrNonce, auth.ErrUseNonce, "dpop: nonce missing or stale"},
	{"dpop", "ErrKeyMismatch", dpop.ErrKeyMismatch, auth.ErrProofKeyMismatch, "dpop: proof key is not the bound key"},
	{"dpop", "ErrReplayCheck", dpop.ErrReplayCheck, auth.ErrUnavailable, "dpop: replay check failed"},
	{"dpop", "ErrReplayCacheFull", dpop.ErrReplayCacheFull, auth.ErrUnavailable, "dpop: replay cache full"},
	{"dpop", "ErrInvalidConfig", dpop.ErrInvalidConfig, auth.ErrInvalidConfig, "dpop: invalid config"},
	{"oauth", "ErrInvalidConfig", oauth.ErrInvalidConfig, auth.ErrInvalidConfig, "oauth: invalid config"},
	{"oauth", "ErrNotFound", oauth.ErrNotFound, nil, "oauth: not found"},
	{"oauth", "ErrAlreadyExists", oauth.ErrAlreadyExists, nil, "oauth: already exists"},
	{"oauth", "ErrCodeUsed", oauth.ErrCodeUsed, nil, "oauth: authorization code already used"},
	{"oauth", "ErrRefreshReused", oauth.ErrRefreshReused, nil, "oauth: refresh token reused"},
	{"oauth", "ErrGrantRevoked", oauth.ErrGrantRevoked, nil, "oauth: grant revoked"},
	{"oauth", "ErrInvalidClientConfig", oauth.ErrInvalidClientConfig, nil, "oauth: invalid client registration"},
	{"oauth", "ErrInvalidRedirectURI", oauth.ErrInvalidRedirectURI, nil, "oauth: invalid redirect URI"},
	{"oauth", "ErrMalformedRequest", oauth.ErrMalformedRequest, nil, "oauth: malformed request"},
	{"oauth", "ErrClientAuth", oauth.ErrClientAuth, nil, "oauth: client authentication failed"},
	{"oauth", "ErrTooManyFailures", oauth.ErrTooManyFailures, nil, "oauth: too many client authentication failures"},
	{"oauth", "ErrUnauthorizedClient", oauth.ErrUnauthorizedClient, nil, "oauth: client not allowed to use this grant"},
	{"oauth", "ErrUnsupportedGrantType", oauth.ErrUnsupportedGrantType, nil, "oauth: unsupported grant type"},
	{"oauth", "ErrUnsupportedResponseType", oauth.ErrUnsupportedResponseType, nil, "oauth: unsupported response type"},
	{"oauth", "ErrInvalidGrant", oauth.ErrInvalidGrant, nil, "oauth: invalid grant"},
	{"oauth", "ErrInvalidScope", oauth.ErrInvalidScope, nil, "oauth: invalid scope"},
	{"oauth", "ErrPKCE", oauth.ErrPKCE, nil, "oauth: PKCE S256 code challenge required"},
	{"oauth", "ErrUnknownClient", oauth.ErrUnknownClient, nil, "oauth: unknown client"},
	{"oauth", "ErrAccessDenied", oauth.ErrAccessDenied, nil, "oauth: access denied"},
	{"oauth", "ErrClientDeleted", oauth.ErrClientDeleted, auth.ErrRevoked, "oauth: the token's client was deleted"},
	{"oauth", "ErrUnavailable", oauth.ErrUnavailable, auth.ErrUnavailable, "oauth: temporarily unavailable"},
	{"oauth", "ErrDPoPRequired", oauth.ErrDPoPRequired, auth.ErrInvalidProof, "oauth: DPoP proof required"},
	{"oauth", "ErrDPoPKey", oauth.ErrDPoPKey, nil, "oauth: DPoP proof key is not the bound key"},
	{"portal", "ErrInvalidConfig", portal.ErrInvalidConfig, auth.ErrInvalidConfig, "portal: invalid config"},
	{"portal", "ErrNotFound", portal.ErrNotFound, nil, "portal: not found"},
	{"portal", "ErrConflict", portal.ErrConflict, nil, "portal: changed meanwhile"},
	{"portal", "ErrBadCredentials", portal.ErrBadCredentials, nil, "portal: wrong username or password"},
	{"portal", "ErrUsernameTaken", portal.ErrUsernameTaken, nil, "portal: username taken"},
	{"portal", "ErrInvalidPassword", portal.ErrInvalidPassword, nil, "portal: password not allowed"},
	{"sqlstore", "ErrInvalidConfig", sqlstore.ErrInvalidConfig, auth.ErrInvalidConfig, "sqlstore: invalid config"},
	{"sqlstore", "ErrSchemaTooNew", sqlstore.ErrSchemaTooNew, nil, "sqlstore: database schema is newer than this program"},
	{"sqlstore", "ErrConnectionSetup", sqlstore.ErrConnectionSetup, nil, "sqlstore: database connection not set up as required"},
	{"sqlstore", "ErrCorruptRecord", sqlstore.ErrCorruptRecord, nil, "sqlstore: stored record is invalid"},
	{"sqlstore", "ErrKeySetConflict", sqlstore.ErrKeySetConflict, nil, "sqlstore: signing key set changed since it was loaded"},
	{"sqlstore", "ErrUnencryptedSigningKeys", sqlstore.ErrUnencryptedSigningKeys, nil, "sqlstore: WARNING: signing keys are stored unencrypted; set a key-encryption key (Config.KeyEncryptionKey)"},
	{"sqlstore", "ErrKeyEncryptionKeyRequired", sqlstore.ErrKeyEncryptionKeyRequired, nil, "sqlstore: signing keys are encrypted: a key-encryption key is required"},
	{"sqlstore", "ErrWrongKeyEncryptionKey", sqlstore.ErrWrongKeyEncryptionKey, nil, "sqlstore: signing keys were encrypted under another key-encryption key"},
	{"sqlstore", "ErrUserExists", sqlstore.ErrUserExists, nil, "sqlstore: user already exists"},
	{"sqlstore", "ErrUserNotFound", sqlstore.ErrUserNotFound, nil, "sqlstore: user not found"},
	{"sqlstore", "ErrInvalidUser", sqlstore.ErrInvalidUser, nil, "sqlstore: invalid user"},
	{"sqlstore", "ErrSessionNotFound", sqlstore.ErrSessionNotFound, nil, "sqlstore: session not found"},
	{"sqlstore", "ErrSessionExists", sqlstore.ErrSessionExists, nil, "sqlstore: session already exists"},
	{"sqlstore", "ErrInvalidSession", sqlstore.ErrInvalidSession, nil, "sqlstore: invalid session"},
	{"sqlstore", "ErrPasswordChanged", sqlstore.ErrPasswordChanged, nil, "sqlstore: the user's password changed"},
	{"sqlstore", "ErrIssuerMismatch", sqlstore.ErrIssuerMismatch, nil, "sqlstore: another issuer serves this database"},
	{"sqlstore", "ErrClosed", sqlstore.ErrClosed, nil, "sqlstore: store closed"},
}

// roots are the root package's sentinels: the meanings.
func roots() []error {
	var rs []error
	for _, s := range sentinels {
		if s.pkg == "auth" {
			rs = append(rs, s.err)
		}
	}
	return rs
}

// TestSentinelMeanings: each sentinel has its message, in the one shape
// "package: reason", and matches its meaning and no other root sentinel.
// A package's sentinel is one Unwrap from its meaning (what the
// Authenticator's classification relies on to stay cheap); one that
// shares none is a plain error that wraps nothing.
func TestSentinelMeanings(t *testing.T) {
	msgs := map[string]string{}
	for _, s := range sentinels {
		t.Run(s.pkg+"."+s.name, func(t *testing.T) {
			if got := s.err.Error(); got != s.msg {
				t.Errorf("Error() = %q, want %q", got, s.msg)
			}
			if !strings.HasPrefix(s.msg, s.pkg+": ") {
				t.Errorf("message %q does not start with %q", s.msg, s.pkg+": ")
			}
			if other, dup := msgs[s.msg]; dup {
				t.Errorf("message %q is also %s's: two reasons a hook cannot tell apart", s.msg, other)
			}
			msgs[s.msg] = s.pkg + "." + s.name
			for _, r := range roots() {
				if got, want := errors.Is(s.err, r), r == s.meaning; got != want {
					t.Errorf("errors.Is(%s.%s, %v) = %v, want %v", s.pkg, s.name, r, got, want)
				}
			}
			switch {
			case s.pkg == "auth":
				if u := errors.Unwrap(s.err); u != nil {
					t.Errorf("root sentinel wraps %v: a meaning is a leaf", u)
				}
			case s.meaning != nil:
				if u := errors.Unwrap(s.err); u != s.meaning {
					t.Errorf("errors.Unwrap = %v, want the meaning itself, %v", u, s.meaning)
				}
			default:
				if u := errors.Unwrap(s.err); u != nil {
					t.Errorf("a sentinel without a meaning wraps %v", u)
				}
			}
		})
	}
}

// TestSentinelTableComplete finds every exported package-level Err* var
// of the module's packages (nested modules aside) and fails for one that
// has no row in sentinels, is declared outside its package's errors.go,
// or is listed but no longer declared.
func TestSentinelTableComplete(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range sentinels {
		listed[s.pkg+"."+s.name] = true
	}
	found := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "." {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module: not this one's API
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if !n.IsExported() || !strings.HasPrefix(n.Name, "Err") {
						continue
					}
					key := f.Name.Name + "." + n.Name
					found[key] = true
					if filepath.Base(path) != "errors.go" {
						t.Errorf("%s: %s is declared outside errors.go", path, key)
					}
					if !listed[key] {
						t.Errorf("%s: %s has no row in sentinels: add it with the root sentinel it must match (nil if it shares none)", path, key)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range listed {
		if !found[key] {
			t.Errorf("%s is listed in sentinels but declared nowhere", key)
		}
	}
}

// answer is what a client saw, every header included.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func answerOf(h http.Handler, r *http.Request) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	hdr := rec.Header().Clone()
	hdr.Del("Date")
	return answer{rec.Code, hdr, rec.Body.String()}
}

// proofStub is a ProofChecker that refuses every proof with err.
type proofStub struct{ err error }

func (s proofStub) CheckProof(*http.Request, string, string, string) error { return s.err }
func (proofStub) Algorithms() []string                                     { return []string{"ES256"} }
func (proofStub) Nonce() string                                            { return "n-1" }

// TestSentinelAnswers: a package's sentinel, returned by a verifier or by
// a proof checker, gets exactly the answer its meaning gets, byte for
// byte, and the hook receives the sentinel itself.
func TestSentinelAnswers(t *testing.T) {
	bound := &auth.Principal{Subject: "u", ClientID: "c", Method: auth.MethodAuthorizationCode, KeyThumbprint: "jkt-1"}
	serve := func(t *testing.T, verr, perr error) (answer, error) {
		t.Helper()
		var got error
		v := auth.VerifierFunc(func(context.Context, string) (*auth.Principal, error) {
			if verr != nil {
				return nil, verr
			}
			return bound, nil
		})
		a, err := auth.New(auth.Config{
			Verifiers: []auth.Verifier{v},
			DPoP:      proofStub{perr},
			OnFailure: func(e auth.Event) { got = e.Err },
		})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "https://api.example/v1/data", nil)
		r.Header.Set("Authorization", "DPoP token")
		r.Header.Set("DPoP", "proof")
		return answerOf(a.Handler(http.NotFoundHandler()), r), got
	}
	for _, s := range sentinels {
		if s.pkg == "auth" || s.meaning == nil {
			continue
		}
		t.Run(s.pkg+"."+s.name, func(t *testing.T) {
			for _, from := range []struct {
				name  string
				serve func(error) (answer, error)
			}{
				{"verifier", func(err error) (answer, error) { return serve(t, err, nil) }},
				{"proof checker", func(err error) (answer, error) { return serve(t, nil, err) }},
			} {
				want, _ := from.serve(s.meaning)
				got, reason := from.serve(s.err)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("from a %s, answered unlike its meaning %v (-meaning +sentinel):\n%s", from.name, s.meaning, diff)
				}
				if !errors.Is(reason, s.err) {
					t.Errorf("from a %s, the hook got %v, want it to match %s.%s", from.name, reason, s.pkg, s.name)
				}
			}
		})
	}
}
