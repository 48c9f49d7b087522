package portal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUnusual(t *testing.T) {
	flat := func(v int64) []int64 {
		s := make([]int64, 24)
		for i := range s {
			s[i] = v
		}
		return s
	}
	with := func(s []int64, i int, v int64) []int64 {
		s = slices.Clone(s)
		s[len(s)+i] = v
		return s
	}
	tests := []struct {
		name   string
		hourly []int64
		want   bool
	}{
		{"quiet", flat(0), false},
		{"steady failures", flat(20), false},                      // a broken client: no spike
		{"spike from nothing", with(flat(0), -1, 10), true},       // 10 ≥ 10 and > 3×0
		{"below the floor", with(flat(0), -1, 9), false},          // 9 < 10: a few mistyped requests
		{"spike in the hour before", with(flat(0), -2, 12), true}, // the hour in progress just began
		{"spike three hours ago", with(flat(0), -3, 50), false},   // old news: no longer "last hour"
		{"exactly three times", with(flat(4), -1, 12), false},     // 12 is not more than 3×4
		{"more than three times", with(flat(4), -1, 13), true},    //
		// The median, not the mean: one earlier burst of 1000 does not
		// raise the baseline and hide a new spike.
		{"after a burst", with(with(flat(1), -10, 1000), -1, 10), true},
		// Even count: the median is the mean of the middle two (2 and 4,
		// so 3): 10 is more than 9.
		{"even median", append(append(make([]int64, 0, 24), slices.Repeat([]int64{2}, 12)...), append(slices.Repeat([]int64{4}, 11), 10)...), true},
		{"even median, below the floor", append(append(make([]int64, 0, 24), slices.Repeat([]int64{2}, 12)...), append(slices.Repeat([]int64{4}, 11), 9)...), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := unusual(tt.hourly); got != tt.want {
			t.Errorf("%s: got %v, want %v (%v)", tt.name, got, tt.want, tt.hourly)
		}
	}
}

func TestWindows(t *testing.T) {
	now := time.Date(2026, 3, 10, 10, 20, 30, 0, time.FixedZone("CET", 3600))
	h, d := windows(now)
	if want := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC); !h.Equal(want) {
		t.Errorf("hours from %v, want %v", h, want)
	}
	if want := time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC); !d.Equal(want) {
		t.Errorf("days from %v, want %v", d, want)
	}
}

// TestCollect: buckets are placed by their start; outside the window,
// negative, several in one interval and many reasons are handled.
func TestCollect(t *testing.T) {
	from := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	reasons := map[string]int64{}
	for i := range 8 {
		reasons[fmt.Sprintf("r%d", i)] = int64(10 - i) // r0 has the most
	}
	c := collect([]Bucket{
		{Start: at(-1), Requests: 100},                                    // before the window
		{Start: at(4), Requests: 100},                                     // after it
		{Start: at(0), Requests: 1, Throttled: 2},                         //
		{Start: at(0).Add(30 * time.Minute), Requests: 1},                 // same interval, mid-hour
		{Start: at(1), Requests: -5, Failures: map[string]int64{"x": -1}}, // negative: zero
		{Start: at(3), Failures: reasons},
	}, from, time.Hour, 4)
	if !slices.Equal(c.requests, []int64{2, 0, 0, 0}) || !slices.Equal(c.throttled, []int64{2, 0, 0, 0}) {
		t.Errorf("requests %v, throttled %v", c.requests, c.throttled)
	}
	// The five reasons with the most, then "other" for the rest (with
	// "x", which had nothing).
	if got := strings.Join(c.reasons, " "); got != "r0 r1 r2 r3 r4 other" {
		t.Errorf("reasons %q", got)
	}
	if got := c.failures["other"][3]; got != 5+4+3 {
		t.Errorf("other: got %d, want 12", got)
	}
	if got := sum(c.failuresPer()); got != 10+9+8+7+6+5+4+3 {
		t.Errorf("failures: got %d", got)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	got := clip(long)
	if !strings.HasSuffix(got, "…") || len(got) > maxLabel+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clip: %q", got)
	}
	if clip("short") != "short" {
		t.Error("clip changed a short label")
	}
}

func TestShown(t *testing.T) {
	for in, want := range map[string]string{
		"plain name ✓":    "plain name ✓",
		"tab\there":       `"tab\there"`,
		"evil\u202etxt":   `"evil\u202etxt"`,
		"zero\u200bwidth": `"zero\u200bwidth"`,
		"\xff":            `"\xff"`,
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q): got %s, want %s", in, got, want)
		}
	}
}

// TestChartGeometry: stacked bars meet, the tallest fills the plot, a
// small non-zero value still shows.
func TestChartGeometry(t *testing.T) {
	c := counts{from: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), step: time.Hour, requests: make([]int64, 24)}
	c.requests[0], c.requests[1] = 1000, 1
	ch := newChart("x", "t", &c, []seriesData{{"requests", "req", "requests", c.requests}})
	if len(ch.Bars) != 2 {
		t.Fatalf("bars: %+v", ch.Bars)
	}
	if b := ch.Bars[0]; b.H != chartPlot || b.Y != chartTop {
		t.Errorf("tallest bar: %+v", b)
	}
	if b := ch.Bars[1]; b.H != 1 || b.Y+b.H != ch.Baseline {
		t.Errorf("smallest bar: %+v", b)
	}
	f := []seriesData{{"a", "f0", "failed", []int64{3, 0}}, {"b", "f1", "failed", []int64{5, 2}}}
	c2 := counts{from: c.from, step: time.Hour, requests: make([]int64, 2)}
	ch = newChart("y", "t", &c2, f)
	var a, b bar
	for _, x := range ch.Bars {
		if x.X == ch.Bars[0].X {
			if x.Series == "a" {
				a = x
			} else {
				b = x
			}
		}
	}
	if a.Y+a.H != ch.Baseline || b.Y+b.H != a.Y || b.Y != chartTop {
		t.Errorf("stack: a %+v, b %+v", a, b)
	}
	if len(ch.Legend) != 2 || len(ch.Rows) != 2 || !slices.Equal(ch.Rows[0].Values, []int64{3, 5}) {
		t.Errorf("legend %v, rows %v", ch.Legend, ch.Rows)
	}
}
