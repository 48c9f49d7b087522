package apikey

import (
	"errors"
	b62 "github.com/audexum/auth/internal/base62"
	"hash/crc32"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scannerRegexp is the pattern documented in doc.go for secret scanners.
var scannerRegexp = regexp.MustCompile(`\badx_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b`)

// mustKey returns a generated key and its ID.
func mustKey(t testing.TB, prefix string, env Env) (string, string) {
	t.Helper()
	return generate(prefix, env)
}

// withChecksum replaces the checksum of a key-shaped string with the
// correct one, to build keys that pass the checksum but are wrong
// otherwise.
func withChecksum(s string) string {
	body := s[:len(s)-ChecksumLength]
	return string(b62.AppendUint32([]byte(body), b62.CRC32(body), ChecksumLength))
}

func TestChecksumMatchesHashCRC32(t *testing.T) {
	for n := range 100 {
		s := strings.Repeat("adx_live_0123456789", 6)[:n]
		if got, want := b62.CRC32(s), crc32.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("checksum(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestAppendChecksum(t *testing.T) {
	tests := []struct {
		c    uint32
		want string
	}{
		{0, "000000"},
		{1, "000001"},
		{61, "00000z"},
		{62, "000010"},
		{0xffffffff, "4gfFC3"}, // the largest CRC-32 still fits 6 digits
	}
	for _, tt := range tests {
		if got := string(b62.AppendUint32(nil, tt.c, ChecksumLength)); got != tt.want {
			t.Errorf("checksum field of %d = %q, want %q", tt.c, got, tt.want)
		}
		if got := b62.Decode(tt.want); got != uint64(tt.c) {
			t.Errorf("decodeChecksum(%q) = %d, want %d", tt.want, got, tt.c)
		}
	}
}

func TestGenerateParseRoundTrip(t *testing.T) {
	for _, prefix := range []string{"adx", "ab", "12345678", "k9"} {
		for _, env := range []Env{EnvLive, EnvTest} {
			key, id := mustKey(t, prefix, env)
			got, err := Parse(key)
			if err != nil {
				t.Fatalf("Parse(generated %s/%s key) error: %v", prefix, env, err)
			}
			want := Parsed{Prefix: prefix, Env: env, ID: id}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if len(key) != len(prefix)+fixedLength {
				t.Errorf("len(key) = %d, want %d", len(key), len(prefix)+fixedLength)
			}
			if _, err := parse(key, prefix); err != nil {
				t.Errorf("parse(key, %q) error: %v", prefix, err)
			}
		}
	}
}

// TestGeneratedKeysUniqueAndScannable generates 100 000 keys: all distinct
// (IDs too), and all found by the documented secret-scanner pattern, also
// inside surrounding text.
func TestGeneratedKeysUniqueAndScannable(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	keys := make(map[string]bool, n)
	ids := make(map[string]bool, n)
	for i := range n {
		env := EnvLive
		if i%2 == 1 {
			env = EnvTest
		}
		key, id := generate(DefaultPrefix, env)
		if keys[key] || ids[id] {
			t.Fatalf("key %d repeats an earlier key or ID", i)
		}
		keys[key], ids[id] = true, true
		if i%1000 == 0 {
			// Surrounded by text, as in a leaked config file.
			if got := scannerRegexp.FindString(`token="` + key + `"`); got != key {
				t.Fatalf("scanner found %q in text, want the key", got)
			}
		}
		if !scannerRegexp.MatchString(key) || scannerRegexp.FindString(key) != key {
			t.Fatalf("key %d does not match the scanner pattern", i)
		}
	}
}

// TestGenerateUniform checks that every base62 digit is used and none is
// far off its share: a modulo bias would give the first eight digits
// 5/4 of the share of the others.
func TestGenerateUniform(t *testing.T) {
	var counts [62]int
	const keys = 4000
	for range keys {
		key, _ := generate(DefaultPrefix, EnvLive)
		for i := len(DefaultPrefix) + 6; i < len(key)-ChecksumLength; i++ {
			if c := key[i]; c != '_' {
				v, _ := b62.Value(c)
				counts[v]++
			}
		}
	}
	total := keys * (IDLength + SecretLength)
	want := float64(total) / 62
	for d, n := range counts {
		// ±10% is over 7 standard deviations at this sample size, and
		// below the 25% excess of a modulo bias.
		if float64(n) < 0.9*want || float64(n) > 1.1*want {
			t.Errorf("digit %q drawn %d times, want about %.0f", b62.Alphabet[d], n, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	key, _ := mustKey(t, "adx", EnvLive)
	n := len(key)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"truncated", key[:n-1], ErrMalformed},
		{"one extra character", key + "0", ErrMalformed},
		{"8 KB", key + strings.Repeat("A", 8192-n), ErrMalformed},
		{"checksum changed", key[:n-1] + string(other(key[n-1])), ErrChecksum},
		{"secret changed", key[:20] + string(other(key[20])) + key[21:], ErrChecksum},
		{"upper-cased", strings.ToUpper(key), ErrMalformed},
		{"prefix too short", withChecksum("a" + key[3:] + "0"), ErrMalformed},
		{"prefix with upper case", withChecksum("aDx" + key[3:]), ErrMalformed},
		{"prefix with dash", withChecksum("a-x" + key[3:]), ErrMalformed},
		// The env's length is fixed, so "prod" is the wrong env, not the
		// wrong shape.
		{"unknown environment", withChecksum("adx_prod" + key[8:]), ErrWrongEnvironment},
		{"upper-case environment", withChecksum("adx_LIVE" + key[8:]), ErrWrongEnvironment},
		// A separator in place of a base62 character keeps the length.
		{"extra underscore field", withChecksum(key[:30] + "_" + key[31:]), ErrMalformed},
		{"dash instead of underscore", withChecksum(key[:8] + "-" + key[9:]), ErrMalformed},
		// Cyrillic а (U+0430) is two bytes; dropping a character keeps
		// the length.
		{"cyrillic in id", withChecksum(key[:9] + "а" + key[11:]), ErrMalformed},
		{"cyrillic in prefix", "аdx" + key[4:], ErrMalformed},
		{"NUL in secret", withChecksum(key[:30] + "\x00" + key[31:]), ErrMalformed},
		{"checksum above 2^32", key[:n-6] + "zzzzzz", ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err != tt.want {
				t.Errorf("Parse error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseWithPrefix covers the verifier's parse, which knows its prefix.
func TestParseWithPrefix(t *testing.T) {
	key, _ := mustKey(t, "adx", EnvLive)
	for _, tt := range []struct {
		in   string
		want error
	}{
		{key, nil},
		{withChecksum("sk" + key[3:] + "0"), ErrWrongPrefix},
		{withChecksum("adxx" + key[3:len(key)-1]), ErrWrongPrefix},
		{"adx", ErrWrongPrefix},
		{"adx_", ErrMalformed},
		{key[:len(key)-1], ErrMalformed},
	} {
		if _, err := parse(tt.in, "adx"); err != tt.want {
			t.Errorf("parse(%.12q…, adx) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// other returns a base62 character different from c.
func other(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

// TestParseDoesNotAllocate checks the promise that hostile input costs no
// allocation, on the failure and the success path.
func TestParseDoesNotAllocate(t *testing.T) {
	key, _ := mustKey(t, "adx", EnvLive)
	inputs := []string{
		key,
		key[:len(key)-1] + string(other(key[len(key)-1])),
		strings.ToUpper(key),
		key + strings.Repeat("x", 8000),
		"",
	}
	for _, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { parse(in, "adx") }); n != 0 {
			t.Errorf("parse allocated %v times per run, want 0", n)
		}
		if n := testing.AllocsPerRun(100, func() { Parse(in) }); n != 0 {
			t.Errorf("Parse allocated %v times per run, want 0", n)
		}
	}
}

// TestParseErrorsAreSentinels checks errors.Is works as well as ==.
func TestParseErrorsAreSentinels(t *testing.T) {
	_, err := Parse("nope")
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("got %v, want ErrMalformed", err)
	}
}

// FuzzParse checks that Parse never panics, fails only with its sentinels,
// and accepts only strings that really have the format.
func FuzzParse(f *testing.F) {
	key, _ := generate("adx", EnvLive)
	test, _ := generate("k9", EnvTest)
	for _, s := range []string{
		key, test, "", "adx_live_", strings.ToUpper(key), key[:len(key)-1],
		withChecksum(key[:9] + "а" + key[11:]), withChecksum("adx_prod" + key[8:]),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if err != ErrMalformed && err != ErrWrongEnvironment && err != ErrChecksum {
				t.Fatalf("Parse error %v is not one of its sentinels", err)
			}
			if p != (Parsed{}) {
				t.Fatalf("Parse failed but returned %+v", p)
			}
			return
		}
		want := p.Prefix + "_" + string(p.Env) + "_" + p.ID + "_"
		if !strings.HasPrefix(s, want) || len(s) != len(want)+SecretLength+ChecksumLength {
			t.Fatalf("Parse(%q) = %+v, which does not rebuild the key", s, p)
		}
		if withChecksum(s) != s {
			t.Fatalf("Parse accepted %q with a wrong checksum", s)
		}
		if crc32.ChecksumIEEE([]byte(s[:len(s)-ChecksumLength])) != b62.CRC32(s[:len(s)-ChecksumLength]) {
			t.Fatalf("checksum disagrees with hash/crc32 on %q", s)
		}
		if _, err := parse(s, p.Prefix); err != nil {
			t.Fatalf("parse with its own prefix %q: %v", p.Prefix, err)
		}
		if p.Prefix == "adx" && scannerRegexp.FindString(s) != s {
			t.Fatalf("accepted key %q escapes the scanner pattern", s)
		}
	})
}

// The key shown in the package documentation is a real one.
func TestDocExampleKey(t *testing.T) {
	const key = "adx_live_mHIcBNz8KnC9_RKWjUGsI8QXvnG0oQLbOI1jPuuEWx3wT35D8Cy"
	if _, err := Parse(key); err != nil {
		t.Errorf("Parse(documented key): %v", err)
	}
	if !scannerRegexp.MatchString(key) {
		t.Error("documented key does not match the documented pattern")
	}
}
