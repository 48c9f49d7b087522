package sqlstore

import (
	"strconv"
	"strings"
	"time"
)

// sqliteBusyTimeout is the busy_timeout [SQLiteDSN] sets: how long a write
// waits for another connection's (or process's) write to finish before
// failing with SQLITE_BUSY. Writes here are short; a wait this long means
// something holds the lock and the caller is better off with an error.
// Not exported: SQLiteDSN's doc states the value, and no caller tunes it.
const sqliteBusyTimeout = 10 * time.Second

// SQLiteDSN returns the data source name of the SQLite database file at
// path, for sql.Open("sqlite", …) with modernc.org/sqlite (the parameter
// names are also those of github.com/mattn/go-sqlite3). Every connection
// the pool opens runs:
//
//   - busy_timeout=10000: wait up to 10 s for the write lock
//     instead of failing at once when two connections (or two processes,
//     such as the CLI revoking a key while the server runs) write together.
//   - foreign_keys=ON: SQLite does not enforce REFERENCES otherwise, and
//     scopes would outlive their key.
//   - journal_mode=WAL: readers never wait for the writer and the writer
//     never waits for readers, so key lookups on the request path do not
//     queue behind a revocation; one fsync per commit, to the log.
//   - synchronous=FULL: the log is synced on every commit, so a commit that
//     returned survives a power cut or an OS crash, not only a crash of
//     the process. NORMAL would be faster and still safe against the
//     process dying, but could lose the last commits on power loss, and
//     the lost commit may be a revocation: a revoked key working again
//     after a reboot is the failure this store must not have. Writes are
//     rare here (key changes, and last-used times once a minute), so the
//     cost does not show.
//   - _txlock=immediate: transactions begin with BEGIN IMMEDIATE, taking
//     the write lock up front, so a transaction that reads before it
//     writes waits its turn under busy_timeout instead of failing with
//     SQLITE_BUSY when another writer got in between.
//
// The path is used as given (relative paths are relative to the working
// directory); characters special in a URI are escaped.
//
// SQLite creates a missing database file with mode 0644 less the umask,
// readable by every local user, and gives its -wal and -shm files the mode
// of the database file. The database holds API key and client secret
// hashes and the signing keys: create the file yourself, empty and with
// mode 0600, before the first connection opens it (cmd/audexum does), and
// all three stay readable by their owner only.
func SQLiteDSN(path string) string {
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '%', '?', '#':
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c), 16)))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("?_busy_timeout=")
	b.WriteString(strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10))
	b.WriteString("&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	return b.String()
}
