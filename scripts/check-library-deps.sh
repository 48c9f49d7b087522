#!/usr/bin/env bash
# Builds a throwaway program that imports every library package of this
# module (as a user's program would) and fails if its module graph holds a
# database driver, a browser driver or a metrics library: those belong to
# cmd/audexum's and sqlstore/dbtest's own modules, test dependencies
# included (a module's test dependencies are in its go.mod too).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat > go.mod <<MOD
module example.com/user

go 1.26.0

require github.com/audexum/auth v0.0.0

replace github.com/audexum/auth => $root
MOD
cat > main.go <<'GO'
package main

import (
	_ "github.com/audexum/auth"
	_ "github.com/audexum/auth/apikey"
	_ "github.com/audexum/auth/jwt"
	_ "github.com/audexum/auth/oauth"
	_ "github.com/audexum/auth/portal"
	_ "github.com/audexum/auth/sqlstore"
)

func main() {}
GO
export GOWORK=off GOFLAGS=-mod=mod
go mod tidy >/dev/null 2>&1
go build ./...
mods="$(go list -m all)"
echo "$mods" | sed 's/^/  /'
if bad="$(echo "$mods" | grep -Ei 'sqlite|pgx|lib/pq|mysql|chromedp|cdproto|prometheus' )"; then
	echo "check-library-deps: a program importing the library inherits:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-library-deps: $(echo "$mods" | wc -l) modules, none a driver, browser or metrics module"
