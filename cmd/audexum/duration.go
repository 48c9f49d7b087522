package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

var errDuration = errors.New("invalid duration (use Go syntax such as 36h or 90m, or days such as 90d)")

// parseDuration accepts Go duration syntax plus a whole-number "d" suffix
// for days ("90d"), since key lifetimes are spoken of in days.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errDuration
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errDuration
	}
	return d, nil
}
