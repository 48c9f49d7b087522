package auth

import (
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
)

// Limits on a scope string, so a hostile token or request cannot make
// [ParseScopes] do unbounded work.
const (
	// MaxScopes is the most scope tokens a [Scopes] set holds.
	MaxScopes = 128
	// MaxScopeLength is the longest scope token, in bytes.
	MaxScopeLength = 256
)

// Scopes is an immutable set of OAuth 2.0 scope tokens (RFC 6749 §3.3).
// Membership is by whole token and case-sensitive: "read:all" does not
// grant "read", and "Read" is not "read".
//
// The zero value is the empty set. Scopes is safe for concurrent use.
type Scopes struct {
	toks []string // sorted, unique, each a valid scope-token
}

// ParseScopes parses a space-delimited scope string as found in a token's
// "scope" claim or a request's "scope" parameter:
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// Duplicates collapse; order does not matter. The empty string is the
// empty set. A string with an empty token (a leading, trailing or doubled
// space), a character outside the grammar, more than [MaxScopes] tokens or
// a token longer than [MaxScopeLength] is refused with an error wrapping
// [ErrInvalidScope].
func ParseScopes(s string) (Scopes, error) {
	if s == "" {
		return Scopes{}, nil
	}
	if len(s) > MaxScopes*(MaxScopeLength+1) {
		return Scopes{}, fmt.Errorf("%w: scope string too long", ErrInvalidScope)
	}
	n := strings.Count(s, " ") + 1
	if n > MaxScopes {
		return Scopes{}, fmt.Errorf("%w: more than %d scopes", ErrInvalidScope, MaxScopes)
	}
	toks := make([]string, 0, n)
	for tok := range strings.SplitSeq(s, " ") {
		if err := checkScopeToken(tok); err != nil {
			return Scopes{}, err
		}
		toks = append(toks, tok)
	}
	return newSorted(toks), nil
}

// NewScopes returns the set of the given tokens, each checked against the
// scope-token grammar and the limits as in [ParseScopes].
func NewScopes(tokens ...string) (Scopes, error) {
	if len(tokens) > MaxScopes {
		return Scopes{}, fmt.Errorf("%w: more than %d scopes", ErrInvalidScope, MaxScopes)
	}
	for _, tok := range tokens {
		if err := checkScopeToken(tok); err != nil {
			return Scopes{}, err
		}
	}
	return newSorted(slices.Clone(tokens)), nil
}

// MustScopes is like [NewScopes] for literals in program code. It panics if
// a token is invalid; never call it with request input.
func MustScopes(tokens ...string) Scopes {
	s, err := NewScopes(tokens...)
	if err != nil {
		panic(err)
	}
	return s
}

func newSorted(toks []string) Scopes {
	if len(toks) == 0 {
		return Scopes{}
	}
	slices.Sort(toks)
	return Scopes{toks: slices.Compact(toks)}
}

// checkScopeToken reports whether tok is a scope-token. The errors never
// echo the token: scopes arrive in requests and tokens.
func checkScopeToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("%w: empty scope token", ErrInvalidScope)
	}
	if len(tok) > MaxScopeLength {
		return fmt.Errorf("%w: scope token longer than %d bytes", ErrInvalidScope, MaxScopeLength)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return fmt.Errorf("%w: invalid character in scope token", ErrInvalidScope)
		}
	}
	return nil
}

// Has reports whether s contains the scope token tok (whole token,
// case-sensitive).
func (s Scopes) Has(tok string) bool {
	_, ok := slices.BinarySearch(s.toks, tok)
	return ok
}

// HasAll reports whether s contains every one of toks. It is true when
// toks is empty.
func (s Scopes) HasAll(toks ...string) bool {
	for _, t := range toks {
		if !s.Has(t) {
			return false
		}
	}
	return true
}

// HasAny reports whether s contains at least one of toks. It is false when
// toks is empty.
func (s Scopes) HasAny(toks ...string) bool {
	for _, t := range toks {
		if s.Has(t) {
			return true
		}
	}
	return false
}

// Includes reports whether every token of o is in s (o is a subset of s).
func (s Scopes) Includes(o Scopes) bool { return s.HasAll(o.toks...) }

// Intersect returns the tokens that are in both s and o.
func (s Scopes) Intersect(o Scopes) Scopes {
	var out []string
	for _, t := range s.toks {
		if o.Has(t) {
			out = append(out, t)
		}
	}
	return Scopes{toks: out}
}

// Equal reports whether s and o hold the same tokens.
func (s Scopes) Equal(o Scopes) bool { return slices.Equal(s.toks, o.toks) }

// Len returns the number of tokens in s.
func (s Scopes) Len() int { return len(s.toks) }

// All iterates over the tokens of s in sorted order.
func (s Scopes) All() iter.Seq[string] { return slices.Values(s.toks) }

// Slice returns the tokens of s in sorted order, in a new slice the caller
// may keep or modify. It is never nil, so it encodes as a JSON array.
func (s Scopes) Slice() []string { return append(make([]string, 0, len(s.toks)), s.toks...) }

// String returns the tokens of s in sorted order, separated by single
// spaces: the form [ParseScopes] reads and OAuth 2.0 "scope" values use.
func (s Scopes) String() string { return strings.Join(s.toks, " ") }

// MarshalText implements [encoding.TextMarshaler] with [Scopes.String].
func (s Scopes) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseScopes].
func (s *Scopes) UnmarshalText(b []byte) error {
	v, err := ParseScopes(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// RequireScopes returns middleware that lets a request through only when
// its principal holds every one of the given scopes; otherwise it answers
// 403 with error="insufficient_scope" and scope="…" naming what the route
// needs. A request with no principal (the route is not behind an
// [Authenticator], or [Config.Optional] let it through) gets 401: the check
// fails closed.
//
// Put it after [Authenticator.Handler]:
//
//	mux.Handle("GET /v1/data", authn.Handler(auth.RequireScopes("data:read")(h)))
//
// A refusal is answered with that Authenticator's realm and reported to
// its [Config.OnFailure] ([ErrInsufficientScope] with the principal, or
// [ErrNoPrincipal]), as [NewContext] explains.
//
// RequireScopes panics, when the route is built, if a scope is not a valid
// scope-token or none is given: a programming error in a literal.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes("RequireScopes", Scopes.HasAll, scopes)
}

// RequireAnyScope is like [RequireScopes] but lets the request through
// when the principal holds at least one of the given scopes. It panics
// under the same conditions.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes("RequireAnyScope", Scopes.HasAny, scopes)
}

func requireScopes(name string, ok func(Scopes, ...string) bool, scopes []string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("auth: " + name + " needs at least one scope")
	}
	want, err := NewScopes(scopes...)
	if err != nil {
		panic(fmt.Sprintf("auth: %s: %v", name, err))
	}
	toks := want.toks
	// The scope attribute is a constant of the route, built once.
	scopeParam := `, error="insufficient_scope", scope="` + want.String() + `"`
	// Used when no Authenticator is in front: the answer still has the
	// standard shape, with the default realm and no hooks.
	fallback := newResponder(DefaultRealm, 0, nil, nil)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("auth: " + name + ": nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, _ := FromContext(ctx)
			resp, _ := ctx.Value(responderKey{}).(*responder)
			if resp == nil {
				resp = fallback
			}
			if p == nil {
				// Fail closed: a route reached without authentication
				// is refused, never served.
				resp.fail(w, r, failNoCredential, ErrNoPrincipal, nil)
				return
			}
			if !ok(p.Scopes, toks...) {
				resp.insufficientScope(w, r, p, scopeParam)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireUser returns middleware that lets a request through only when
// its principal is a user acting through a client (an authorization-code
// token, see [Principal.IsUser]). An application acting for itself, with
// an API key or a client-credentials token, gets 403 insufficient_scope:
// it holds no user's consent, whatever its scopes. No principal gets 401
// and refusals are reported, as with [RequireScopes].
func RequireUser(next http.Handler) http.Handler {
	if next == nil {
		panic("auth: RequireUser: nil handler")
	}
	fallback := newResponder(DefaultRealm, 0, nil, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, _ := FromContext(ctx)
		resp, _ := ctx.Value(responderKey{}).(*responder)
		if resp == nil {
			resp = fallback
		}
		switch {
		case p == nil:
			resp.fail(w, r, failNoCredential, ErrNoPrincipal, nil)
		case !p.IsUser():
			resp.insufficientScope(w, r, p, `, error="insufficient_scope"`)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
