package reason

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	meaning := errors.New("root: credential expired")
	err := New(meaning, "pkg: token expired")
	if got, want := err.Error(), "pkg: token expired"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, meaning) {
		t.Error("errors.Is(err, meaning) = false, want true")
	}
	if errors.Unwrap(err) != meaning {
		t.Error("Unwrap is not the meaning itself: one level, no more")
	}
	// Detail is added with %w, and both still match.
	detailed := fmt.Errorf("%w: at 12:00", err)
	if !errors.Is(detailed, err) || !errors.Is(detailed, meaning) {
		t.Errorf("%v: does not match the sentinel and its meaning", detailed)
	}
	if got, want := detailed.Error(), "pkg: token expired: at 12:00"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// Two sentinels with the same meaning stay apart.
	other := New(meaning, "other: key expired")
	if errors.Is(err, other) || errors.Is(other, err) {
		t.Error("two reasons with one meaning match each other")
	}
}

func TestNewNilMeaningPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil, …) did not panic")
		}
	}()
	New(nil, "pkg: reason")
}
