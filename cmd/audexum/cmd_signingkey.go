package main

import (
	"context"
	"fmt"

	"github.com/audexum/auth/jwt"
)

// signingKeyRotate makes the next signing key active. The previous key
// stays published in the JWKS until every token it signed has expired, so
// no token stops working; running servers pick the change up from the
// change log.
func (c *cli) signingKeyRotate(ctx context.Context, args []string) error {
	var cm common
	var sf signingFlags
	fs := newFlagSet("signing-key rotate", &cm)
	sf.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("signing-key rotate: unexpected argument %q", pos[0])
	}
	sys, err := openSigningSystem(ctx, cm, sf)
	if err != nil {
		return err
	}
	defer sys.Close()
	if sys.kek.created {
		fmt.Fprintf(c.stdout, "Created the key-encryption key of the signing keys in %s: back it up, apart from the database.\n", sys.kek.file)
	}
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: sys.signing})
	if err != nil {
		return err
	}
	before := ks.ActiveKeyID()
	if err := ks.Rotate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Rotated the signing key: %s is now active; %s stays published until its tokens expire.\n", ks.ActiveKeyID(), before)
	return nil
}
