// Package bench holds side-by-side benchmarks of this toolkit against the
// libraries its users would otherwise pick: go-jose v4 on its own,
// auth0/go-jwt-middleware v2, golang-jwt v5 with keyfunc v3, and ory/fosite
// for the token endpoint, with a standard-library floor for each job.
//
// It is a module of its own, so the peers never enter the main module's
// dependency graph and "go test ./..." from the repository root skips it.
// Every benchmark first checks that the implementation it times accepts
// the valid credential (with the right subject) and refuses a tampered,
// an expired and a wrong-audience one without calling the handler; the
// same checks run as tests ("go test ./..." in this directory).
//
// bench/run.sh runs interleaved rounds and prints medians and per-round
// paired ratios; bench/load.sh load-tests the reference server with wrk.
// docs/benchmarks.md has the results and how to read them.
package bench
