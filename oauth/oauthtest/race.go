package oauthtest

import (
	"errors"
	"sync"
	"testing"
)

// race runs f(0) … f(n-1) on n goroutines at once and returns their
// errors, indexed like the calls.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}

// wins counts the nil errors of a race, reporting each error that is none
// of the allowed ones (the losers' answers) as a failure of op.
func wins(t *testing.T, op string, errs []error, allowed ...error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		if err == nil {
			n++
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || errors.Is(err, a)
		}
		if !ok {
			t.Errorf("%s %d: got %v, want nil or one of %v", op, i, err, allowed)
		}
	}
	return n
}
