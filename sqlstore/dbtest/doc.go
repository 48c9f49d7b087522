// Package dbtest holds the tests of package sqlstore that run against
// real databases: SQLite through modernc.org/sqlite, and PostgreSQL
// through github.com/jackc/pgx when AUDEXUM_TEST_POSTGRES_DSN is set
// (scripts/postgres-for-tests.sh starts one and prints it).
//
// It is a module of its own so that those drivers are dependencies of
// these tests only, never of github.com/audexum/auth: a program that
// imports sqlstore chooses its driver and inherits none.
package dbtest
