package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/audexum/auth/sqlstore"
)

// End users log in at the consent page with a password. Passwords are
// low-entropy, unlike keys and client secrets, so they get a deliberately
// slow, memory-hard hash (argon2id, RFC 9106), and the number of hashes
// computed at once is bounded so logins cannot exhaust the machine.

// argon2id parameters: 64 MiB, 2 passes, 2 lanes (RFC 9106 §4 and OWASP
// guidance, sized for a 2-core machine: about 100 ms a hash).
const (
	argonMemoryKiB = 64 * 1024
	argonTime      = 2
	argonThreads   = 2
	argonKeyLen    = 32
	argonSaltLen   = 16
)

var (
	errUserExists      = errors.New("a user with that username already exists")
	errBadCredentials  = errors.New("wrong username or password")
	errInvalidUsername = errors.New("username must be 1 to 64 characters of letters, digits, '.', '_', '-' or '@'")
	errInvalidPassword = errors.New("password must be 8 to 1024 bytes of UTF-8")
)

type user struct {
	ID       string
	Username string
	// passwordHash is the hash authenticate verified the password
	// against: a sign-in passes it to sqlstore's CreateSession, which
	// refuses the session if a password change replaced it meanwhile.
	passwordHash string
}

// userStore signs end users in: their rows are in the store's users table
// (sqlstore.Users), their passwords hashed here with argon2id.
type userStore struct {
	users *sqlstore.Users
	// sem bounds concurrent password hashes.
	sem chan struct{}
	// dummy is verified against for unknown usernames, so the answer takes
	// as long as for a known one and does not reveal which usernames exist.
	dummy string
}

func newUserStore(store *sqlstore.Store) (*userStore, error) {
	s := &userStore{users: store.Users(), sem: make(chan struct{}, 2)}
	dummy, err := hashPassword("not a real password, only for timing")
	if err != nil {
		return nil, err
	}
	s.dummy = dummy
	return s, nil
}

func validUsername(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, c := range u {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)
		if !ok {
			return false
		}
	}
	return true
}

func validPassword(p string) bool {
	return len(p) >= 8 && len(p) <= 1024 && utf8.ValidString(p)
}

func (s *userStore) add(ctx context.Context, username, password string, now time.Time) (user, error) {
	if !validUsername(username) {
		return user{}, errInvalidUsername
	}
	if !validPassword(password) {
		return user{}, errInvalidPassword
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return user{}, err
	}
	idb := make([]byte, 12)
	rand.Read(idb)
	u := user{ID: "usr_" + base64.RawURLEncoding.EncodeToString(idb), Username: username}
	// The user and its audit row commit together, in the store.
	err = s.users.CreateUser(ctx, sqlstore.User{ID: u.ID, Username: u.Username, PasswordHash: hash, CreatedAt: now})
	switch {
	case errors.Is(err, sqlstore.ErrUserExists):
		return user{}, errUserExists
	case err != nil:
		return user{}, fmt.Errorf("add user: %w", err)
	}
	return u, nil
}

// authenticate checks a username and password. Unknown users and wrong
// passwords give the same error after the same work.
func (s *userStore) authenticate(ctx context.Context, username, password string) (user, error) {
	if len(password) > 1024 {
		return user{}, errBadCredentials
	}
	u, err := s.users.UserByUsername(ctx, username)
	switch {
	case errors.Is(err, sqlstore.ErrUserNotFound):
		s.verify(ctx, s.dummy, password)
		return user{}, errBadCredentials
	case err != nil:
		return user{}, fmt.Errorf("look up user: %w", err)
	}
	ok, err := s.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return user{}, err
	}
	if !ok {
		return user{}, errBadCredentials
	}
	return user{ID: u.ID, Username: u.Username, passwordHash: u.PasswordHash}, nil
}

// changePassword replaces the password of the user with ID id by next if
// current is its password, with an audit row naming the actor of ctx. It
// fails with errBadCredentials for a wrong current password,
// errInvalidPassword for a next password outside the rule, and
// sqlstore.ErrUserNotFound. The user's other sessions are the caller's to
// end (sqlstore.Sessions.DeleteOtherSessions).
func (s *userStore) changePassword(ctx context.Context, id, current, next string) error {
	if !validPassword(next) {
		return errInvalidPassword
	}
	u, err := s.users.User(ctx, id)
	if err != nil {
		return err
	}
	if len(current) > 1024 {
		return errBadCredentials
	}
	ok, err := s.verify(ctx, u.PasswordHash, current)
	switch {
	case err != nil:
		return err
	case !ok:
		return errBadCredentials
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	return s.users.SetPasswordHash(ctx, id, hash)
}

// accountID resolves an --owner USERNAME to the user's ID, which is what
// keys and clients store as their owner: IDs are stable where a username
// may be renamed.
func (s *userStore) accountID(ctx context.Context, username string) (string, error) {
	u, err := s.users.UserByUsername(ctx, username)
	switch {
	case errors.Is(err, sqlstore.ErrUserNotFound):
		return "", fmt.Errorf("no user named %s (add one with: audexum user add --username NAME --password-stdin)", shown(username))
	case err != nil:
		return "", fmt.Errorf("look up user: %w", err)
	}
	return u.ID, nil
}

func (s *userStore) byID(ctx context.Context, id string) (user, error) {
	u, err := s.users.User(ctx, id)
	return user{ID: u.ID, Username: u.Username}, err
}

func (s *userStore) hash(ctx context.Context, password string) (string, error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return hashPassword(password)
}

func (s *userStore) verify(ctx context.Context, encoded, password string) (bool, error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return false, ctx.Err()
	}
	return verifyPassword(encoded, password)
}

// hashPassword returns the PHC string form of an argon2id hash.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("stored password hash is not a supported argon2id hash")

// verifyPassword checks password against a PHC argon2id string, using the
// parameters stored with it so they can be raised later.
func verifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8*1024 || m > 1<<20 || t < 1 || t > 10 || p < 1 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// readPassword reads one line (the password) from r, without its line
// ending.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 2048))
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimRight(s[:i], "\r")
	}
	return s, nil
}
