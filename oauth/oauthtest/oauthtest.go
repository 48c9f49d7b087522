// Package oauthtest holds the contract test suites every implementation
// of the oauth package's stores must pass: [RunClientStore] for an
// oauth.ClientStore and [RunGrantStore] for an oauth.GrantStore.
//
// Call them from a test of the implementation, with a function that
// returns a new, empty store for each subtest:
//
//	func TestGrantStore(t *testing.T) {
//		oauthtest.RunGrantStore(t, func(t *testing.T) oauth.GrantStore {
//			return newTestStore(t)
//		})
//	}
package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/audexum/auth/oauth"
)

// base is the suites' reference time, at microsecond precision so SQL
// stores that round to microseconds compare equal.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func randomHash() oauth.Hash {
	var h oauth.Hash
	rand.Read(h[:])
	return h
}
