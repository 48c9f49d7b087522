package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// consistent checks the Map's invariants: no more entries than its size,
// and the index and the slots agree.
func consistent[K comparable, V any](t *testing.T, m *Map[K, V]) {
	t.Helper()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.slots) > m.size {
		t.Fatalf("holds %d entries, size %d", len(m.slots), m.size)
	}
	if len(m.index) != len(m.slots) {
		t.Fatalf("index has %d keys, slots %d", len(m.index), len(m.slots))
	}
	for k, i := range m.index {
		if m.slots[i].key != k {
			t.Fatalf("index says %v is at %d, which holds %v", k, i, m.slots[i].key)
		}
	}
}

// TestGetExpiry: an entry is there before its expiry and gone at it; the
// zero time means no expiry; Put replaces value and expiry.
func TestGetExpiry(t *testing.T) {
	m := New[string, int](10)
	m.Put("a", 1, at(10*time.Second), t0)
	m.Put("forever", 2, time.Time{}, t0)
	m.Put("b", 3, at(time.Second), t0)
	m.Put("b", 4, at(20*time.Second), t0) // replaced: new value, new expiry
	tests := []struct {
		key    string
		now    time.Duration
		want   int
		wantOK bool
	}{
		{"a", 0, 1, true},
		{"a", 10*time.Second - 1, 1, true},
		{"a", 10 * time.Second, 0, false}, // gone at its expiry, not after it
		{"a", time.Hour, 0, false},
		{"forever", 100 * 365 * 24 * time.Hour, 2, true},
		{"b", 5 * time.Second, 4, true},
		{"b", 20 * time.Second, 0, false},
		{"missing", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%v", tt.key, tt.now), func(t *testing.T) {
			got, ok := m.Get(tt.key, at(tt.now))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Get = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestUpdate: Update sees the live value and its expiry, sees an expired
// one as absent (zero value, zero time), and stores what f leaves.
func TestUpdate(t *testing.T) {
	m := New[string, int](10)
	// count is a fixed-window counter, as the memory limiter keeps.
	count := func(key string, now time.Time) (n int, found bool) {
		m.Update(key, now, func(v *int, exp time.Time, ok bool) time.Time {
			if !ok {
				if *v != 0 || !exp.IsZero() {
					t.Errorf("%s: not found, but f got %d, %v", key, *v, exp)
				}
				exp = now.Add(time.Minute)
			}
			*v++
			n, found = *v, ok
			return exp
		})
		return n, found
	}
	tests := []struct {
		now       time.Duration
		wantN     int
		wantFound bool
	}{
		{0, 1, false},
		{time.Second, 2, true},
		{time.Minute - 1, 3, true},
		{time.Minute, 1, false}, // the window ended at its end: a new one
		{time.Minute + time.Second, 2, true},
	}
	for _, tt := range tests {
		if n, found := count("k", at(tt.now)); n != tt.wantN || found != tt.wantFound {
			t.Errorf("at %v: n = %d, found = %v; want %d, %v", tt.now, n, found, tt.wantN, tt.wantFound)
		}
	}
	// The expiry f set is kept: the window that began at 1m ends at 2m.
	if v, ok := m.Get("k", at(2*time.Minute-1)); !ok || v != 2 {
		t.Errorf("Get before the window's end = %d, %v; want 2, true", v, ok)
	}
	if _, ok := m.Get("k", at(2*time.Minute)); ok {
		t.Error("Get at the window's end hit")
	}
	// Left at the zero time, the expiry is never.
	m.Update("never", t0, func(v *int, exp time.Time, _ bool) time.Time { *v = 7; return exp })
	if v, ok := m.Get("never", at(1000*time.Hour)); !ok || v != 7 {
		t.Errorf("Get(never) = %d, %v; want 7, true", v, ok)
	}
	consistent(t, m)
}

func TestDeleteClear(t *testing.T) {
	m := New[int, string](4)
	for i := range 4 {
		m.Put(i, fmt.Sprint(i), time.Time{}, t0)
	}
	m.Delete(1)
	m.Delete(3)
	m.Delete(42) // absent: nothing happens
	consistent(t, m)
	for i, want := range []bool{true, false, true, false} {
		if _, ok := m.Get(i, t0); ok != want {
			t.Errorf("Get(%d) after Delete: %v, want %v", i, ok, want)
		}
	}
	if n := m.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	m.Clear()
	consistent(t, m)
	if n := m.Len(); n != 0 {
		t.Errorf("Len after Clear = %d, want 0", n)
	}
	if _, ok := m.Get(0, t0); ok {
		t.Error("Get after Clear hit")
	}
	// Cleared slots let go of their values.
	for _, s := range m.slots[:cap(m.slots)] {
		if s.val != "" {
			t.Errorf("a cleared slot still holds %q", s.val)
		}
	}
}

// TestBoundUnderFlood: however many unique keys arrive, through Put or
// Update, in either mode, the Map holds at most its size, and its index
// and slots agree.
func TestBoundUnderFlood(t *testing.T) {
	const size, flood = 1000, 100_000
	for _, refusing := range []bool{false, true} {
		t.Run(fmt.Sprint("refusing=", refusing), func(t *testing.T) {
			m := New[string, int](size)
			if refusing {
				m = NewRefusing[string, int](size)
			}
			for i := range flood {
				now := at(time.Duration(i) * time.Millisecond)
				key := fmt.Sprint("k", i)
				if i%2 == 0 {
					m.Put(key, i, now.Add(time.Minute), now)
				} else {
					m.Update(key, now, func(v *int, _ time.Time, _ bool) time.Time { *v = i; return now.Add(time.Minute) })
				}
				if n := m.Len(); n > size {
					t.Fatalf("after %d keys: %d entries, want at most %d", i+1, n, size)
				}
			}
			consistent(t, m)
			if n := m.Len(); n != size {
				t.Errorf("full Map holds %d entries, want %d", n, size)
			}
			if c := cap(m.slots); c > size {
				t.Errorf("slots capacity %d, want at most the size %d", c, size)
			}
		})
	}
}

// TestFloodKeepsUsedEntries is the attacker's flood: entries used more
// than once (a repeated token, a network being throttled) survive 100
// times the Map's size of unique keys, none of them used again, because
// each eviction finds a key of the flood, used once, in its sample.
func TestFloodKeepsUsedEntries(t *testing.T) {
	const size, hot = 1024, 16
	m := New[string, int](size)
	for i := range hot {
		key := fmt.Sprint("hot", i)
		m.Put(key, i, at(time.Hour), t0)
		m.Get(key, t0)
	}
	for i := range 100 * size {
		m.Put(fmt.Sprint("flood", i), i, at(time.Hour), t0)
	}
	consistent(t, m)
	for i := range hot {
		if _, ok := m.Get(fmt.Sprint("hot", i), t0); !ok {
			t.Errorf("hot%d was evicted by the flood", i)
		}
	}
}

// TestExpiredDroppedFirst: an expired entry goes before a live one, even
// one used less. Each trial holds one live entry used once and 63 expired
// ones used 11 times: one of the 8 drawn is expired unless all 8 are the
// live one, while a policy looking only at uses would drop the live one
// whenever it is drawn (one trial in 8).
func TestExpiredDroppedFirst(t *testing.T) {
	const size, trials = 64, 100
	for trial := range trials {
		m := New[string, int](size)
		m.Put("live", 0, at(time.Hour), t0)
		for i := range size - 1 {
			key := fmt.Sprint("old", i)
			m.Put(key, i, at(time.Second), t0)
			for range 10 {
				m.Get(key, t0)
			}
		}
		now := at(2 * time.Second)
		m.Put("new", 0, at(time.Hour), now)
		if _, ok := m.Get("live", now); !ok {
			t.Fatalf("trial %d: the live entry was dropped while expired ones were held", trial)
		}
	}
}

// TestSoonestAmongEquals: of two entries used as much, the one expiring
// sooner goes. The sample is random, so this counts over many Maps: with
// two entries, 8 draws miss the sooner one once in 256.
func TestSoonestAmongEquals(t *testing.T) {
	const trials = 1000
	soonerDropped := 0
	for range trials {
		m := New[string, int](2)
		m.Put("sooner", 0, at(time.Minute), t0)
		m.Put("later", 0, at(time.Hour), t0)
		m.Put("new", 0, at(time.Hour), t0)
		if _, ok := m.Get("sooner", t0); !ok {
			soonerDropped++
		}
	}
	if soonerDropped < trials*95/100 {
		t.Errorf("the sooner entry was dropped in %d of %d trials, want nearly all", soonerDropped, trials)
	}
}

// TestRefusing: a refusing Map full of live entries refuses new keys
// (Put and Update return false, f is not called) but still updates the
// keys it holds, and takes new keys again once entries expire.
func TestRefusing(t *testing.T) {
	const size = 4
	m := NewRefusing[int, int](size)
	for i := range size {
		if !m.Put(i, i, at(time.Minute), t0) {
			t.Fatalf("Put(%d) refused below the size", i)
		}
	}
	if m.Put(100, 0, at(time.Minute), t0) {
		t.Error("Put of a new key into a full refusing Map succeeded")
	}
	called := false
	if m.Update(101, t0, func(_ *int, exp time.Time, _ bool) time.Time { called = true; return exp }) || called {
		t.Errorf("Update of a new key into a full refusing Map: called f %v, want refused", called)
	}
	for i := range size {
		if v, ok := m.Get(i, at(time.Minute-1)); !ok || v != i {
			t.Errorf("live entry %d was dropped: %d, %v", i, v, ok)
		}
	}
	// A key it holds can still be updated: no room is needed.
	found := false
	if !m.Update(2, t0, func(v *int, exp time.Time, ok bool) time.Time { *v, found = 20, ok; return exp }) || !found {
		t.Error("Update of a held key refused or not found")
	}
	if !m.Put(3, 30, at(time.Minute), t0) {
		t.Error("Put of a held key refused")
	}
	// Once they expire, new keys get in.
	later := at(time.Minute)
	for i := range size {
		if !m.Put(200+i, i, later.Add(time.Minute), later) {
			t.Errorf("Put(%d) refused once the old entries expired", 200+i)
		}
	}
	if m.Put(300, 0, later.Add(time.Minute), later) {
		t.Error("Put into a Map full again succeeded")
	}
	consistent(t, m)
}

// TestRefusingSweep: a full refusing Map drops every expired entry at
// once when it last swept a second or more before, so one sweep makes
// room for many new keys.
func TestRefusingSweep(t *testing.T) {
	const size = 1000
	m := NewRefusing[int, int](size)
	for i := range size {
		m.Put(i, i, at(time.Second), t0)
	}
	if m.Put(-1, 0, at(time.Minute), t0) {
		t.Fatal("Put into a full Map of live entries succeeded")
	}
	now := at(2 * time.Second)
	if !m.Put(-2, 0, at(time.Minute), now) {
		t.Fatal("Put refused although every entry had expired")
	}
	if n := m.Len(); n != 1 {
		t.Errorf("after the sweep: %d entries, want 1", n)
	}
	consistent(t, m)
}

// TestRefusingNeverForgetsLive: under a flood of unique keys, a refusing
// Map holds on to every unexpired entry it accepted.
func TestRefusingNeverForgetsLive(t *testing.T) {
	const size = 256
	m := NewRefusing[int, int](size)
	accepted := map[int]time.Time{} // key → expiry
	for i := range 50 * size {
		now := at(time.Duration(i) * time.Millisecond)
		exp := now.Add(time.Duration(i%7+1) * time.Second)
		if m.Put(i, i, exp, now) {
			accepted[i] = exp
		}
		if i%97 == 0 {
			for k, exp := range accepted {
				_, ok := m.Get(k, now)
				if live := now.Before(exp); ok != live {
					t.Fatalf("at %d: key %d (expires %v) held = %v, want %v", i, k, exp.Sub(t0), ok, live)
				}
				if !now.Before(exp) {
					delete(accepted, k)
				}
			}
		}
	}
	consistent(t, m)
}

// TestConcurrent runs every method from many goroutines (under -race),
// then checks the invariants, and that updates of one key from all of
// them are counted exactly.
func TestConcurrent(t *testing.T) {
	for _, refusing := range []bool{false, true} {
		t.Run(fmt.Sprint("refusing=", refusing), func(t *testing.T) {
			m := New[string, int](64)
			if refusing {
				m = NewRefusing[string, int](64)
			}
			const workers, rounds = 8, 2000
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						now := at(time.Duration(i) * time.Millisecond)
						key := fmt.Sprint(w, "-", i%100)
						switch i % 10 {
						case 0:
							m.Delete(key)
						case 1:
							if w == 0 && i%500 == 1 {
								m.Clear()
							}
						case 2, 3, 4:
							m.Put(key, i, now.Add(50*time.Millisecond), now)
						case 5:
							m.Update(key, now, func(v *int, _ time.Time, _ bool) time.Time { *v++; return now.Add(time.Second) })
						default:
							m.Get(key, now)
						}
						_ = m.Len()
					}
				})
			}
			wg.Wait()
			consistent(t, m)

			m.Clear()
			for range workers {
				wg.Go(func() {
					for range rounds {
						m.Update("shared", t0, func(v *int, exp time.Time, _ bool) time.Time { *v++; return exp })
						m.Get("shared", t0)
					}
				})
			}
			wg.Wait()
			if v, _ := m.Get("shared", t0); v != workers*rounds {
				t.Errorf("shared counter = %d, want %d", v, workers*rounds)
			}
		})
	}
}

// TestUsesSaturate: the use count stops at maxUses, so a hot entry's hits
// stop writing.
func TestUsesSaturate(t *testing.T) {
	m := New[string, int](4)
	m.Put("a", 1, time.Time{}, t0)
	for range 1000 {
		m.Get("a", t0)
	}
	m.Update("a", t0, func(_ *int, exp time.Time, _ bool) time.Time { return exp })
	if u := m.slots[m.index["a"]].uses; u != maxUses {
		t.Errorf("uses = %d, want %d", u, maxUses)
	}
}

// TestNoAllocation: a hit, an update and a put of a held key allocate
// nothing, nor does a new key once the Map is full; these run on every
// request (a limiter's Add, a replay cache's claim).
func TestNoAllocation(t *testing.T) {
	m := New[int, int](16)
	for i := range 16 {
		m.Put(i, i, at(time.Hour), t0)
	}
	next := 100
	for name, f := range map[string]func(){
		"Get":           func() { m.Get(3, t0) },
		"Put held":      func() { m.Put(3, 1, at(time.Hour), t0) },
		"Update held":   func() { m.Update(4, t0, func(v *int, exp time.Time, _ bool) time.Time { *v++; return exp }) },
		"Put new, full": func() { next++; m.Put(next, 1, at(time.Hour), t0) },
		"Update new, full": func() {
			next++
			m.Update(next, t0, func(v *int, _ time.Time, _ bool) time.Time { *v = 1; return at(time.Hour) })
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}
