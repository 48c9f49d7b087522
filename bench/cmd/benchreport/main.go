// Command benchreport summarises the rounds written by bench/run.sh: the
// median ns/op of every benchmark across rounds, and for each comparison
// the ratio computed within each round (both sides timed in the same
// round, so drift on the shared machine hits both) with its median and
// range across rounds. It prints Markdown, ready for docs/benchmarks.md.
//
// Usage:
//
//	benchreport round-01.txt round-02.txt …
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result is one benchmark line of one round.
type result struct {
	nsPerOp, bytesPerOp, allocsPerOp float64
}

// round maps a benchmark name (without the -GOMAXPROCS suffix) to its
// result.
type round map[string]result

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) (round, error) {
	out := round{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		var res result
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", name, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				res.nsPerOp = v
			case "B/op":
				res.bytesPerOp = v
			case "allocs/op":
				res.allocsPerOp = v
			}
		}
		if res.nsPerOp > 0 {
			out[name] = res
		}
	}
	return out, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// ratio is a comparison: num's ns/op over den's, in the same round.
type ratio struct {
	num, den string
	// min and max, if non-zero, are the target: the median ratio must be
	// at least min or at most max.
	min, max float64
	// target names the target it checks.
	target string
}

func ratios() []ratio {
	var rs []ratio
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		p := "JWT/" + alg + "/"
		for _, impl := range []string{"audexum-first", "golangjwt", "gojose", "auth0"} {
			rs = append(rs, ratio{num: p + impl, den: p + "floor", target: "first-sight distance to the floor"})
		}
		for _, impl := range []string{"golangjwt", "gojose", "auth0"} {
			rs = append(rs, ratio{num: p + impl, den: p + "audexum-first"})
		}
		rs = append(rs, ratio{num: p + "auth0", den: p + "audexum-repeated", min: 50, target: "repeated ≥ 50× faster than auth0"})
		rs = append(rs, ratio{num: p + "golangjwt", den: p + "audexum-repeated"})
	}
	for _, impl := range []string{"golangjwt", "gojose", "auth0"} {
		rs = append(rs, ratio{num: "JWT/HS256/" + impl, den: "JWT/HS256/floor"})
	}
	rs = append(rs,
		ratio{num: "APIKey/audexum", den: "APIKey/reference", max: 1.3, target: "API key within 1.3× of the reference"},
		ratio{num: "APIKey/audexum-chain", den: "APIKey/reference"},
		ratio{num: "Token/fosite", den: "Token/audexum", min: 10, target: "token endpoint ≥ 10× fosite's throughput"},
		ratio{num: "Token/fosite-sha256", den: "Token/audexum"},
	)
	return rs
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchreport ROUND_FILE...")
		os.Exit(2)
	}
	var rounds []round
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r, err := parse(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
		if len(r) > 0 {
			rounds = append(rounds, r)
		}
	}
	if len(rounds) == 0 {
		fmt.Fprintln(os.Stderr, "no benchmark results")
		os.Exit(1)
	}

	var names []string
	seen := map[string]bool{}
	for _, r := range rounds {
		for n := range r {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	// Benchmarks in the order the suite runs them within a group.
	order := map[string]int{"floor": 0, "audexum-first": 1, "audexum-repeated": 2, "golangjwt": 3, "gojose": 4, "auth0": 5,
		"reference": 0, "audexum": 1, "audexum-chain": 2, "fosite": 3, "fosite-sha256": 4}
	groups := map[string]int{"JWT/RS256": 0, "JWT/ES256": 1, "JWT/EdDSA": 2, "JWT/HS256": 3, "APIKey": 4, "Token": 5}
	slices.SortStableFunc(names, func(a, b string) int {
		ga, gb := a[:strings.LastIndexByte(a, '/')], b[:strings.LastIndexByte(b, '/')]
		if ga != gb {
			if groups[ga] != groups[gb] {
				return groups[ga] - groups[gb]
			}
			return strings.Compare(ga, gb)
		}
		return order[a[len(ga)+1:]] - order[b[len(gb)+1:]]
	})

	fmt.Printf("### Medians over %d rounds\n\n", len(rounds))
	fmt.Println("| benchmark | median ns/op | min | max | per second (median) | B/op | allocs/op | rounds |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range names {
		var ns, bs, as []float64
		for _, r := range rounds {
			if res, ok := r[n]; ok {
				ns = append(ns, res.nsPerOp)
				bs = append(bs, res.bytesPerOp)
				as = append(as, res.allocsPerOp)
			}
		}
		m := median(ns)
		fmt.Printf("| %s | %s | %s | %s | %s | %.0f | %.0f | %d |\n", n, fmtNs(m), fmtNs(slices.Min(ns)), fmtNs(slices.Max(ns)),
			fmtRate(1e9/m), median(bs), median(as), len(ns))
	}

	fmt.Printf("\n### Paired ratios (computed within each round)\n\n")
	fmt.Println("| ratio | median | min | max | rounds | target |")
	fmt.Println("|---|---:|---:|---:|---:|---|")
	for _, rt := range ratios() {
		var xs []float64
		for _, r := range rounds {
			a, okA := r[rt.num]
			b, okB := r[rt.den]
			if okA && okB {
				xs = append(xs, a.nsPerOp/b.nsPerOp)
			}
		}
		if len(xs) == 0 {
			continue
		}
		m := median(xs)
		verdict := ""
		switch {
		case rt.min > 0 && m >= rt.min:
			verdict = fmt.Sprintf("≥ %g: met", rt.min)
		case rt.min > 0:
			verdict = fmt.Sprintf("≥ %g: MISSED", rt.min)
		case rt.max > 0 && m <= rt.max:
			verdict = fmt.Sprintf("≤ %g: met", rt.max)
		case rt.max > 0:
			verdict = fmt.Sprintf("≤ %g: MISSED", rt.max)
		}
		fmt.Printf("| %s ÷ %s | %.2f× | %.2f× | %.2f× | %d | %s |\n", rt.num, rt.den, m, slices.Min(xs), slices.Max(xs), len(xs), verdict)
	}

	// First sight: this toolkit's distance to the floor must be the
	// smallest, per algorithm, in the medians of the paired ratios.
	fmt.Printf("\n### First sight closer to the floor than every peer\n\n")
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		p := "JWT/" + alg + "/"
		dist := func(impl string) float64 {
			var xs []float64
			for _, r := range rounds {
				a, okA := r[p+impl]
				b, okB := r[p+"floor"]
				if okA && okB {
					xs = append(xs, a.nsPerOp/b.nsPerOp)
				}
			}
			return median(xs)
		}
		ours := dist("audexum-first")
		best, bestName := 0.0, ""
		for _, impl := range []string{"golangjwt", "gojose", "auth0"} {
			if d := dist(impl); bestName == "" || d < best {
				best, bestName = d, impl
			}
		}
		verdict := "met"
		if ours >= best {
			verdict = "MISSED"
		}
		fmt.Printf("- %s: audexum-first %.2f× the floor, closest peer %s %.2f×: %s\n", alg, ours, bestName, best, verdict)
	}
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func fmtRate(perSec float64) string {
	switch {
	case perSec >= 1e6:
		return fmt.Sprintf("%.2f M", perSec/1e6)
	case perSec >= 1e3:
		return fmt.Sprintf("%.1f k", perSec/1e3)
	}
	return fmt.Sprintf("%.1f", perSec)
}
