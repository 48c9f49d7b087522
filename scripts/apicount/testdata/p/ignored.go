//go:build ignore

package p

// Excluded by its build constraint, so nothing here counts.
const Ignored = 0
