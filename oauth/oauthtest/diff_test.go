package oauthtest

import (
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

func TestDiff(t *testing.T) {
	c := &oauth.Client{ID: "a", Scopes: auth.MustScopes("x"), Secrets: []oauth.ClientSecret{{CreatedAt: base}}, CreatedAt: base}
	same := c.Clone()
	same.CreatedAt = base.In(time.FixedZone("X", 3600)) // same instant
	if d := diff(c, same); d != "" {
		t.Errorf("equal clients: got %q, want no difference", d)
	}
	tests := []struct {
		edit func(*oauth.Client)
		want string
	}{
		{func(c *oauth.Client) { c.ID = "b" }, "ID"},
		{func(c *oauth.Client) { c.Scopes = auth.MustScopes("y") }, "Scopes"},
		{func(c *oauth.Client) { c.Secrets[0].CreatedAt = base.Add(time.Second) }, "Secrets[0].CreatedAt"},
		{func(c *oauth.Client) { c.Secrets = nil }, "Secrets"},
		{func(c *oauth.Client) { c.Secrets[0].Hash[3] = 1 }, "Secrets[0].Hash[3]"},
	}
	for _, tt := range tests {
		other := c.Clone()
		tt.edit(other)
		if d := diff(c, other); !strings.HasPrefix(d, tt.want+":") {
			t.Errorf("got %q, want a difference at %s", d, tt.want)
		}
	}
	if d := diff((*oauth.Client)(nil), c); d == "" {
		t.Errorf("nil and non-nil: got no difference")
	}
}
