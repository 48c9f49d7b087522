// Package reason builds the sentinel errors by which the module's
// packages give a precise reason that shares a meaning with a sentinel of
// the root package: jwt.ErrExpired is "jwt: token expired" and matches
// auth.ErrExpired, so an observer hook can match either and the
// Authenticator answers by the shared one. The root package's
// documentation (its "Errors" section) states the rules; this package is
// only the type.
package reason

// Error is a package's sentinel error with the meaning it shares. Its
// fields are set once, by New, and never change, so one value can be
// returned by every request that fails for that reason, from any
// goroutine, without allocating.
type Error struct {
	msg     string
	meaning error
}

// New returns a sentinel whose Error is msg, the package's own message
// ("jwt: token expired": the package name, a colon, a lowercase reason),
// and whose Unwrap is meaning, the root package's sentinel it shares
// (auth.ErrExpired). Call it in a package's errors.go, once per sentinel.
//
// The result's static type is error, so an exported sentinel built with
// New is declared as an error, as one built with errors.New is; its
// dynamic type is *Error.
//
// New panics if meaning is nil: a sentinel built without its meaning is
// a programming error in a var block, caught when the package loads.
func New(meaning error, msg string) error {
	if meaning == nil {
		panic("reason: New(" + msg + "): nil meaning")
	}
	return &Error{msg: msg, meaning: meaning}
}

// Error returns the package's message, without the meaning's: a hook
// reads "jwt: token expired", not the root package's text too.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the meaning, so errors.Is matches it.
func (e *Error) Unwrap() error { return e.meaning }
