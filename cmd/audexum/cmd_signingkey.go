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
	cmd := newCommand("signing-key rotate")
	var sf signingFlags
	sf.register(cmd.fs)
	if err := cmd.parse(args); err != nil {
		return err
	}
	sys, err := openSigningSystem(ctx, cmd.common, sf)
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
