#!/usr/bin/env bash
# Starts a local PostgreSQL server for the tests and prints the DSN they
# read, as a shell "export" line:
#
#   eval "$(scripts/postgres-for-tests.sh)"
#   go test -race ./sqlstore/...
#
# It is idempotent (run it as often as you like: it starts what is stopped,
# creates what is missing, and raises max_connections to 400 once, which
# restarts the cluster that one time), needs no input, and works as root (as in
# CI) or as a user who may run "sudo -n". On Debian it uses the packaged
# cluster (see pg_lsclusters); when PostgreSQL is not installed it installs
# Debian's package first. Messages go to stderr; stdout carries only the
# export line.
#
# Settings (environment):
#   AUDEXUM_TEST_POSTGRES_USER      role to create      (default audexum_test)
#   AUDEXUM_TEST_POSTGRES_PASSWORD  its password        (default audexum_test)
#   AUDEXUM_TEST_POSTGRES_DB        database to create  (default audexum_test)
#
# The role owns only its database and is not a superuser. Each test creates
# and drops a schema of its own in that database, so runs do not see each
# other's data.
set -euo pipefail

user="${AUDEXUM_TEST_POSTGRES_USER:-audexum_test}"
password="${AUDEXUM_TEST_POSTGRES_PASSWORD:-audexum_test}"
dbname="${AUDEXUM_TEST_POSTGRES_DB:-audexum_test}"

log() { echo "postgres-for-tests: $*" >&2; }
die() { log "$*"; exit 1; }

case "$user$dbname" in
*[!a-z0-9_]*) die "user and database names must be lower-case letters, digits and _" ;;
esac
case "$password" in
*"'"*) die "the password must not contain a single quote" ;;
esac

# as_root runs a command as root: directly, or through sudo without a
# password prompt (there is no stdin to answer one).
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# as_postgres runs a command as the postgres system user.
as_postgres() {
	if [ "$(id -un)" = postgres ]; then
		"$@"
	elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
		runuser -u postgres -- "$@"
	else
		as_root su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
	fi
}

if ! command -v pg_lsclusters >/dev/null || ! command -v psql >/dev/null; then
	log "PostgreSQL is not installed: installing Debian's package"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi

# The newest installed cluster: "version name port status ...".
cluster=$(pg_lsclusters --no-header 2>/dev/null | sort -k1,1V | tail -n 1 || true)
if [ -z "$cluster" ]; then
	version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
	[ -n "$version" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
	log "creating cluster $version/main"
	as_root pg_createcluster "$version" main >&2
	cluster=$(pg_lsclusters --no-header | sort -k1,1V | tail -n 1)
fi
read -r version name port status _ <<<"$cluster"

case "$status" in
online*) log "cluster $version/$name is already running on port $port" ;;
*)
	log "starting cluster $version/$name on port $port"
	as_root pg_ctlcluster "$version" "$name" start >&2
	;;
esac

# Wait for the server to accept connections (bounded: 60 s).
for _ in $(seq 1 120); do
	if pg_isready -q -h 127.0.0.1 -p "$port"; then
		break
	fi
	sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || die "server on port $port is not accepting connections"

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@" >&2; }

# The suites of several packages run at once (go test runs packages in
# parallel: sqlstore's concurrency tests and cmd/audexum's end-to-end
# tests each hold tens of connections), so the default max_connections
# (100) is too few. Raising it needs a restart, once.
want_conns=400
have_conns=$(as_postgres psql -X -tA -p "$port" -d postgres -c 'SHOW max_connections')
if [ "$have_conns" -lt "$want_conns" ]; then
	log "raising max_connections from $have_conns to $want_conns (restarts the cluster)"
	psql_admin -d postgres -c "ALTER SYSTEM SET max_connections = $want_conns"
	as_root pg_ctlcluster "$version" "$name" restart >&2
	for _ in $(seq 1 120); do
		if pg_isready -q -h 127.0.0.1 -p "$port"; then
			break
		fi
		sleep 0.5
	done
	pg_isready -q -h 127.0.0.1 -p "$port" || die "server on port $port did not come back after the restart"
fi

# Create the role, or reset its password if it exists, and its database.
psql_admin -d postgres <<SQL
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
		CREATE ROLE $user LOGIN PASSWORD '$password';
	ELSE
		ALTER ROLE $user LOGIN PASSWORD '$password';
	END IF;
END
\$\$;
SQL
if ! as_postgres psql -X -tA -p "$port" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
	log "creating database $dbname"
	psql_admin -d postgres -c "CREATE DATABASE $dbname OWNER $user"
fi

dsn="postgres://$user:$password@127.0.0.1:$port/$dbname?sslmode=disable"
# Check the DSN works as the test role, over TCP as the tests connect.
PGPASSWORD="$password" psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$dbname" -c 'SELECT 1' >/dev/null ||
	die "cannot connect as $user over TCP (check pg_hba.conf)"

log "ready: $dsn"
printf "export AUDEXUM_TEST_POSTGRES_DSN='%s'\n" "$dsn"
