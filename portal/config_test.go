package portal_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/portal/portaltest"
)

// TestNewRefuses: a missing store, catalog or audit hook, and unusable
// timeouts or proxies are errors at construction, not at the first
// request.
func TestNewRefuses(t *testing.T) {
	st := portaltest.New(nil)
	full := func() portal.Config {
		return portal.Config{Accounts: st, Sessions: st, Keys: st, Applications: st, Usage: st,
			ScopeCatalog: catalog, WithActor: portaltest.WithActor}
	}
	if _, err := portal.New(full()); err != nil {
		t.Fatalf("full config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*portal.Config)
	}{
		{"no Accounts", func(c *portal.Config) { c.Accounts = nil }},
		{"no Sessions", func(c *portal.Config) { c.Sessions = nil }},
		{"no Keys", func(c *portal.Config) { c.Keys = nil }},
		{"no Applications", func(c *portal.Config) { c.Applications = nil }},
		{"no Usage", func(c *portal.Config) { c.Usage = nil }},
		{"no ScopeCatalog", func(c *portal.Config) { c.ScopeCatalog = nil }},
		// An unaudited portal is a decision, spelt out in code.
		{"no WithActor", func(c *portal.Config) { c.WithActor = nil }},
		{"negative idle", func(c *portal.Config) { c.IdleTimeout = -time.Second }},
		{"absolute shorter than idle", func(c *portal.Config) { c.IdleTimeout, c.AbsoluteTimeout = time.Hour, time.Minute }},
		{"absolute shorter than the default idle", func(c *portal.Config) { c.AbsoluteTimeout = time.Minute }},
		{"invalid proxy", func(c *portal.Config) { c.TrustedProxies = []netip.Prefix{{}} }},
	}
	for _, tt := range tests {
		cfg := full()
		tt.edit(&cfg)
		if _, err := portal.New(cfg); !errors.Is(err, portal.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", tt.name, err)
		}
	}
	cfg := full()
	cfg.WithActor = func(ctx context.Context, _ string) context.Context { return ctx }
	if _, err := portal.New(cfg); err != nil {
		t.Errorf("explicitly unaudited: %v", err)
	}
}
