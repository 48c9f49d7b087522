package dbtest

import (
	"context"
	"testing"
	"time"

	"github.com/audexum/auth/apikey"
)

// benchStores returns the stores the benchmarks compare, in one run: the
// memory store as the baseline, SQLite, and PostgreSQL when configured.
func benchStores(b *testing.B, fn func(b *testing.B, s apikey.Store)) {
	b.Run("memory", func(b *testing.B) { fn(b, apikey.NewMemoryStore()) })
	b.Run("sqlite", func(b *testing.B) { fn(b, openStore(b, sqliteDB(b)).APIKeys()) })
	b.Run("postgres", func(b *testing.B) { fn(b, openStore(b, postgresDB(b)).APIKeys()) })
}

// seedKeys creates n keys in s and returns them.
func seedKeys(b *testing.B, s apikey.Store, n int) (keys, ids []string) {
	m, err := apikey.NewManager(apikey.ManagerConfig{Store: s})
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		k, rec, err := m.Create(context.Background(), apikey.CreateParams{Name: "bench", Owner: "bench",
			Scopes: mustScopes("data:read", "data:write")})
		if err != nil {
			b.Fatal(err)
		}
		keys, ids = append(keys, k), append(ids, rec.ID)
	}
	return keys, ids
}

// BenchmarkStoreGet reads one key record (with its scopes) by ID.
func BenchmarkStoreGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s apikey.Store) {
		_, ids := seedKeys(b, s, 100)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Key(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkVerifierMiss verifies an API key with the cache off, so every
// request reads the store: the cost of a cache miss.
func BenchmarkVerifierMiss(b *testing.B) {
	benchStores(b, func(b *testing.B, s apikey.Store) {
		keys, _ := seedKeys(b, s, 100)
		v, err := apikey.NewVerifier(apikey.Config{Store: s, CacheTTL: -1, LastUsedInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := v.Verify(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkVerifierHit verifies cached keys: the same for every store,
// as the store is not touched (see TestCacheHitTouchesNoDatabase).
func BenchmarkVerifierHit(b *testing.B) {
	benchStores(b, func(b *testing.B, s apikey.Store) {
		keys, _ := seedKeys(b, s, 100)
		v, err := apikey.NewVerifier(apikey.Config{Store: s, CacheTTL: time.Hour, LastUsedInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		ctx := context.Background()
		for _, k := range keys { // fill the cache
			if _, err := v.Verify(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := v.Verify(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
