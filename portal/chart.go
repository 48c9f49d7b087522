package portal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: bars, stacked by series,
// with a <title> and <desc> for assistive technology and a table of every
// value as the alternative. They need no script and load nothing.

// Chart geometry, in SVG user units.
const (
	chartLeft   = 44  // room for the y-axis label
	chartTop    = 8   //
	chartPlot   = 120 // plot height
	chartBottom = 22  // room for the time labels
	chartRight  = 8
)

// chart is one bar chart and its table.
type chart struct {
	// ID is unique on the page, for aria-labelledby.
	ID            string
	Title, Desc   string
	Width, Height int
	// Baseline is the y of the x axis; PlotLeft and PlotRight its ends.
	Baseline, PlotLeft, PlotRight int
	YMax                          int64
	Bars                          []bar
	Ticks                         []tick
	Legend                        []legendEntry
	// Columns and Rows are the table: a time column, then one per series.
	Columns []string
	Rows    []tableRow
}

type bar struct {
	X, Y, W, H int
	Class      string
	Series     string
	Value      int64
	Label      string
}

type tick struct {
	X     int
	Label string
}

type legendEntry struct{ Class, Name string }

type tableRow struct {
	Label  string
	Values []int64
}

// seriesData is one stacked series of a chart.
type seriesData struct {
	name, class, unit string
	values            []int64
}

// charts returns the requests, failures and throttled charts of c; id
// prefixes the charts' IDs, span says what they cover.
func charts(id, span string, c *counts) []chart {
	var fails []seriesData
	for i, reason := range c.reasons {
		fails = append(fails, seriesData{name: reason, class: "f" + strconv.Itoa(i), unit: "failed", values: c.failures[reason]})
	}
	return []chart{
		newChart(id+"-requests", "Requests, "+span, c, []seriesData{{"requests", "req", "requests", c.requests}}),
		newChart(id+"-failures", "Failed attempts by reason, "+span, c, fails),
		newChart(id+"-throttled", "Throttled requests, "+span, c, []seriesData{{"throttled", "thr", "throttled", c.throttled}}),
	}
}

// intervalLabel names the interval starting at t.
func intervalLabel(t time.Time, step time.Duration) string {
	if step < day {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return t.UTC().Format("2006-01-02")
}

func newChart(id, title string, c *counts, series []seriesData) chart {
	n := len(c.requests)
	barW := 24
	if n > hours {
		barW = 20
	}
	ch := chart{
		ID: id, Title: title,
		Width:    chartLeft + n*barW + chartRight,
		Height:   chartTop + chartPlot + chartBottom,
		Baseline: chartTop + chartPlot,
	}
	ch.PlotLeft, ch.PlotRight = chartLeft, chartLeft+n*barW
	stack := make([]int64, n)
	for _, s := range series {
		for i, v := range s.values {
			stack[i] += v
		}
	}
	for _, v := range stack {
		ch.YMax = max(ch.YMax, v)
	}
	// Each bar's top and bottom are the scaled running totals, so stacked
	// bars meet exactly; a non-zero value is at least one unit tall.
	scale := func(v int64) int {
		if ch.YMax == 0 {
			return 0
		}
		return int((v*chartPlot + ch.YMax/2) / ch.YMax)
	}
	below := make([]int64, n)
	for _, s := range series {
		for i, v := range s.values {
			if v == 0 {
				continue
			}
			bottom := ch.Baseline - scale(below[i])
			top := ch.Baseline - scale(below[i]+v)
			if top >= bottom {
				top = bottom - 1
			}
			below[i] += v
			ch.Bars = append(ch.Bars, bar{
				X: chartLeft + i*barW + 1, Y: top, W: barW - 2, H: bottom - top,
				Class: s.class, Series: shown(s.name), Value: v,
				Label: fmt.Sprintf("%s: %d %s", intervalLabel(c.from.Add(time.Duration(i)*c.step), c.step), v, shownUnit(s)),
			})
		}
	}
	// A time label every 6 hours or every 5 days, at the bar's left edge.
	every := 6
	if c.step >= day {
		every = 5
	}
	for i := 0; i < n; i += every {
		t := c.from.Add(time.Duration(i) * c.step).UTC()
		label := t.Format("15:04")
		if c.step >= day {
			label = t.Format("Jan 2")
		}
		ch.Ticks = append(ch.Ticks, tick{X: chartLeft + i*barW, Label: label})
	}
	ch.Columns = []string{"Interval"}
	for _, s := range series {
		ch.Columns = append(ch.Columns, s.name)
		if len(series) > 1 {
			ch.Legend = append(ch.Legend, legendEntry{Class: s.class, Name: s.name})
		}
	}
	for i := range n {
		row := tableRow{Label: intervalLabel(c.from.Add(time.Duration(i)*c.step), c.step)}
		for _, s := range series {
			row.Values = append(row.Values, s.values[i])
		}
		ch.Rows = append(ch.Rows, row)
	}
	ch.Desc = describe(c, series, stack)
	return ch
}

// shownUnit is the unit after a bar's value: the series' unit, and for
// a failure reason, the reason.
func shownUnit(s seriesData) string {
	if s.unit == "failed" {
		return "failed (" + shown(s.name) + ")"
	}
	return s.unit
}

// describe summarizes a chart in words for its <desc>.
func describe(c *counts, series []seriesData, stack []int64) string {
	var total int64
	peak := -1
	for i, v := range stack {
		total += v
		if v > 0 && (peak < 0 || v > stack[peak]) {
			peak = i
		}
	}
	if total == 0 {
		return "None in this period. The table after the chart lists every interval."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d in all", total)
	if len(series) > 1 {
		var parts []string
		for _, s := range series {
			parts = append(parts, fmt.Sprintf("%s %d", shown(s.name), sum(s.values)))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "; the most, %d, in the interval from %s. The table after the chart lists every interval.",
		stack[peak], intervalLabel(c.from.Add(time.Duration(peak)*c.step), c.step))
	return b.String()
}
