package apikey

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testEntry(id string) *entry { return newEntry(&Record{ID: id, Owner: "o"}) }

// TestCacheFillAfterInvalidateIsDropped: a lookup that read the store
// before an invalidation must not put its (possibly stale) answer back.
func TestCacheFillAfterInvalidateIsDropped(t *testing.T) {
	c := newCache(time.Minute, time.Minute, 10)
	gen := c.generation() // lookup starts
	c.invalidate("a")     // Revoke returns meanwhile
	c.putPositive("a", testEntry("a"), gen, t0)
	c.putNegative("b", gen, t0)
	if e, neg := c.get("a", t0); e != nil || neg {
		t.Errorf("get(a) = %v, %v; want a miss", e, neg)
	}
	if _, neg := c.get("b", t0); neg {
		t.Error("get(b) is negative; want a miss")
	}
	// A fill that starts after the invalidation is kept.
	gen = c.generation()
	c.putPositive("a", testEntry("a"), gen, t0)
	if e, _ := c.get("a", t0); e == nil {
		t.Error("get(a) after a fresh fill missed")
	}
}

func TestCacheTTL(t *testing.T) {
	c := newCache(30*time.Second, 5*time.Second, 10)
	c.putPositive("a", testEntry("a"), c.generation(), t0)
	c.putNegative("b", c.generation(), t0)
	tests := []struct {
		at      time.Duration
		wantPos bool
		wantNeg bool
	}{
		{0, true, true},
		{5*time.Second - 1, true, true},
		{5 * time.Second, true, false},
		{30*time.Second - 1, true, false},
		{30 * time.Second, false, false},
	}
	for _, tt := range tests {
		e, _ := c.get("a", t0.Add(tt.at))
		_, neg := c.get("b", t0.Add(tt.at))
		if (e != nil) != tt.wantPos || neg != tt.wantNeg {
			t.Errorf("at %v: positive hit %v, negative hit %v; want %v, %v", tt.at, e != nil, neg, tt.wantPos, tt.wantNeg)
		}
	}
}

// TestCacheBounded: neither side grows past the cap, and a flood of
// unknown IDs does not evict known keys.
func TestCacheBounded(t *testing.T) {
	const size = 8
	c := newCache(time.Minute, time.Minute, size)
	for i := range size {
		c.putPositive(fmt.Sprint("known", i), testEntry("k"), c.generation(), t0)
	}
	for i := range 10 * size {
		c.putNegative(fmt.Sprint("unknown", i), c.generation(), t0)
	}
	if c.pos.Len() != size || c.neg.Len() != size {
		t.Errorf("cache sizes = %d positive, %d negative; want %d each", c.pos.Len(), c.neg.Len(), size)
	}
	for i := range size {
		if e, _ := c.get(fmt.Sprint("known", i), t0); e == nil {
			t.Errorf("known%d evicted by unknown IDs", i)
		}
	}
	for i := range 3 * size {
		c.putPositive(fmt.Sprint("more", i), testEntry("k"), c.generation(), t0)
	}
	if c.pos.Len() != size {
		t.Errorf("positive size = %d, want %d", c.pos.Len(), size)
	}
	c.invalidateAll()
	if c.pos.Len() != 0 || c.neg.Len() != 0 {
		t.Errorf("after invalidateAll: %d positive, %d negative; want 0", c.pos.Len(), c.neg.Len())
	}
}

func TestCacheDisabled(t *testing.T) {
	c := newCache(-1, -1, 10)
	c.putPositive("a", testEntry("a"), c.generation(), t0)
	c.putNegative("b", c.generation(), t0)
	if e, _ := c.get("a", t0); e != nil {
		t.Error("disabled positive cache hit")
	}
	if _, neg := c.get("b", t0); neg {
		t.Error("disabled negative cache hit")
	}
}

func TestEntrySeen(t *testing.T) {
	key, _ := generate(DefaultPrefix, EnvLive)
	other, _ := generate(DefaultPrefix, EnvLive)
	e := testEntry("a")
	if e.matchesSeen(key) {
		t.Fatal("matchesSeen before rememberSeen = true, want false")
	}
	e.rememberSeen(key)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"same key", key, true},
		{"same key, new string", string([]byte(key)), true},
		{"other key", other, false},
		{"last byte differs", key[:len(key)-1] + "!", false},
		{"prefix of the key", key[:len(key)-1], false},
		{"key plus a byte", key + "0", false},
		{"empty", "", false},
		{"too long", key + key, false},
	}
	for _, tt := range tests {
		if got := e.matchesSeen(tt.in); got != tt.want {
			t.Errorf("%s: matchesSeen = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The key is not kept in the clear.
	seen := e.seen.Load()
	var b []byte
	for _, w := range seen {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	if strings.Contains(string(b), key[:12]) {
		t.Error("remembered key is stored unmasked")
	}
}
