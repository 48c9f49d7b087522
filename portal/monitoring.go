package portal

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// The monitoring windows: 24 hourly intervals ending with the hour in
// progress, and 30 daily (UTC) ones ending with today.
const (
	hours = 24
	days  = 30
	day   = 24 * time.Hour
)

// recentFailures is how many of a credential's latest failures its page
// lists.
const recentFailures = 20

// The unusual-activity rule: a failure spike, that is, in the hour in
// progress or the hour before it, at least spikeMin failures and more than
// spikeFactor times the median of the 24 hourly failure counts. The median
// (not the mean) is the baseline so that one earlier burst does not hide
// the next; the floor keeps a credential that never fails from being
// flagged for its first few mistyped requests.
const (
	spikeFactor = 3
	spikeMin    = 10
)

// unusual applies the rule to hourly failure counts, oldest first, the
// last one the hour in progress.
func unusual(hourly []int64) bool {
	n := len(hourly)
	if n == 0 {
		return false
	}
	sorted := slices.Clone(hourly)
	slices.Sort(sorted)
	// median = (lo+hi)/2; compare 2f > 3(lo+hi) to stay in integers.
	lo, hi := sorted[(n-1)/2], sorted[n/2]
	for _, f := range hourly[max(0, n-2):] {
		if f >= spikeMin && 2*f > spikeFactor*(lo+hi) {
			return true
		}
	}
	return false
}

// windows returns the start of the 24-hour window and of the 30-day one
// at now.
func windows(now time.Time) (hourFrom, dayFrom time.Time) {
	now = now.UTC()
	hourFrom = now.Truncate(time.Hour).Add(-(hours - 1) * time.Hour)
	dayFrom = now.Truncate(day).Add(-(days - 1) * day)
	return hourFrom, dayFrom
}

// maxReasonSeries is how many failure reasons a chart draws apart; the
// others are drawn together as "other".
const maxReasonSeries = 5

// otherReason names the failures of the reasons beyond maxReasonSeries.
const otherReason = "other"

// counts are a credential's counts in n intervals of step from start.
type counts struct {
	from      time.Time
	step      time.Duration
	requests  []int64
	throttled []int64
	// failures by reason, at most maxReasonSeries+1 reasons, and their
	// order (most failures first).
	failures map[string][]int64
	reasons  []string
}

// collect places a store's buckets into n intervals. Buckets outside the
// window are ignored, several in one interval are added, negative counts
// count as zero: the page shows what the store says, within the window it
// asked for.
func collect(buckets []Bucket, from time.Time, step time.Duration, n int) counts {
	c := counts{from: from, step: step, requests: make([]int64, n), throttled: make([]int64, n), failures: map[string][]int64{}}
	byReason := map[string][]int64{}
	for _, b := range buckets {
		d := b.Start.Sub(from)
		if d < 0 || d >= time.Duration(n)*step {
			continue
		}
		i := int(d / step)
		c.requests[i] += max(0, b.Requests)
		c.throttled[i] += max(0, b.Throttled)
		for reason, v := range b.Failures {
			if byReason[reason] == nil {
				byReason[reason] = make([]int64, n)
			}
			byReason[reason][i] += max(0, v)
		}
	}
	type rt struct {
		reason string
		total  int64
	}
	var totals []rt
	for reason, vs := range byReason {
		totals = append(totals, rt{reason, sum(vs)})
	}
	slices.SortFunc(totals, func(a, b rt) int {
		if c := cmp.Compare(b.total, a.total); c != 0 {
			return c
		}
		return cmp.Compare(a.reason, b.reason)
	})
	for i, t := range totals {
		reason := clip(t.reason)
		if i >= maxReasonSeries {
			reason = otherReason
		}
		if c.failures[reason] == nil {
			c.failures[reason] = make([]int64, n)
			c.reasons = append(c.reasons, reason)
		}
		for j, v := range byReason[t.reason] {
			c.failures[reason][j] += v
		}
	}
	return c
}

// failuresPer sums the failures of all reasons per interval.
func (c *counts) failuresPer() []int64 {
	out := make([]int64, len(c.requests))
	for _, vs := range c.failures {
		for i, v := range vs {
			out[i] += v
		}
	}
	return out
}

func sum(vs []int64) int64 {
	var t int64
	for _, v := range vs {
		t += v
	}
	return t
}

// monitorRow is a credential on the monitoring overview.
type monitorRow struct {
	Kind, Name, ID, Status string
	// Path is the credential's monitoring page.
	Path                          string
	Requests, Failures, Throttled int64
	Unusual                       bool
}

// monitoring lists every key and application of the account with its
// last 24 hours and the unusual-activity flag.
func (p *Portal) monitoring(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	keys, err := p.keys.ListKeys(ctx, s.account.ID)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	apps, err := p.apps.ListApps(ctx, s.account.ID)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	now := p.now()
	hourFrom, _ := windows(now)
	var rows []monitorRow
	add := func(c Credential, row monitorRow) bool {
		bs, err := p.usage.Buckets(ctx, c, hourFrom, time.Hour, hours)
		if err != nil {
			p.fail(w, r, failUnavailable, err)
			return false
		}
		h := collect(bs, hourFrom, time.Hour, hours)
		f := h.failuresPer()
		row.Requests, row.Failures, row.Throttled, row.Unusual = sum(h.requests), sum(f), sum(h.throttled), unusual(f)
		rows = append(rows, row)
		return true
	}
	slices.SortStableFunc(keys, func(a, b Key) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, k := range keys {
		if k.Owner != s.account.ID {
			continue
		}
		row := monitorRow{Kind: "API key", Name: k.Name, ID: k.ID, Status: newKeyRow(k, now).Status, Path: "/portal/monitoring/keys/" + k.ID}
		if !add(Credential{KindKey, k.ID}, row) {
			return
		}
	}
	slices.SortStableFunc(apps, func(a, b App) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, a := range apps {
		if a.Owner != s.account.ID {
			continue
		}
		row := monitorRow{Kind: "Application", Name: a.Name, ID: a.ID, Status: newAppRow(a).TypeLabel, Path: "/portal/monitoring/apps/" + a.ID}
		if !add(Credential{KindApp, a.ID}, row) {
			return
		}
	}
	p.render(w, r, http.StatusOK, "monitoring", view{Title: "Monitoring", Nav: "monitoring", Username: s.account.Username, Data: rows})
}

// monitorData is a credential's monitoring page.
type monitorData struct {
	Kind, Name, ID string
	// Path is the credential's own page.
	Path    string
	Unusual bool
	// LastHour is the failures in the hour in progress and the one
	// before, for the unusual-activity notice.
	LastHours                     int64
	Requests, Failures, Throttled int64
	Day, Month                    []chart
	Recent                        []failureRow
}

type failureRow struct {
	At      time.Time
	Reason  string
	Network string
}

func (p *Portal) monitorKey(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok {
		return
	}
	p.monitor(w, r, s, Credential{KindKey, k.ID}, monitorData{Kind: "API key", Name: k.Name, ID: k.ID, Path: "/portal/keys/" + k.ID})
}

func (p *Portal) monitorApp(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownApp(w, r, s)
	if !ok {
		return
	}
	p.monitor(w, r, s, Credential{KindApp, a.ID}, monitorData{Kind: "Application", Name: a.Name, ID: a.ID, Path: "/portal/apps/" + a.ID})
}

// monitor renders a credential's charts and recent failures.
func (p *Portal) monitor(w http.ResponseWriter, r *http.Request, s *session, c Credential, d monitorData) {
	ctx := r.Context()
	hourFrom, dayFrom := windows(p.now())
	hb, err := p.usage.Buckets(ctx, c, hourFrom, time.Hour, hours)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	db, err := p.usage.Buckets(ctx, c, dayFrom, day, days)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	recent, err := p.usage.RecentFailures(ctx, c, recentFailures)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	h := collect(hb, hourFrom, time.Hour, hours)
	m := collect(db, dayFrom, day, days)
	f := h.failuresPer()
	d.Unusual = unusual(f)
	d.LastHours = f[hours-1] + f[hours-2]
	d.Requests, d.Failures, d.Throttled = sum(h.requests), sum(f), sum(h.throttled)
	d.Day = charts("day", "last 24 hours, hourly", &h)
	d.Month = charts("month", "last 30 days, daily", &m)
	slices.SortStableFunc(recent, func(a, b Failure) int { return b.At.Compare(a.At) })
	for i, fl := range recent {
		if i == recentFailures {
			break
		}
		network := "unknown"
		if fl.Network.IsValid() {
			network = fl.Network.String()
		}
		d.Recent = append(d.Recent, failureRow{At: fl.At, Reason: clip(fl.Reason), Network: network})
	}
	p.render(w, r, http.StatusOK, "monitor", view{Title: "Monitoring " + d.ID, Nav: "monitoring", Username: s.account.Username, Data: d})
}

// maxLabel bounds a reason shown on a page, in bytes.
const maxLabel = 64

// clip shortens a store's label to maxLabel bytes, on a character
// boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxLabel {
		return s
	}
	i := maxLabel
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
