package apikey

import (
	"errors"
	"testing"

	"github.com/audexum/auth"
)

// TestUnexportedReasons: the verifier's reasons that have no exported
// sentinel match their root meaning and no other, with a message that
// names the package. The exported ones are in the root package's
// TestSentinelMeanings.
func TestUnexportedReasons(t *testing.T) {
	roots := []error{
		auth.ErrInvalidCredential, auth.ErrUnknownCredential, auth.ErrExpired,
		auth.ErrRevoked, auth.ErrUnavailable, auth.ErrNoCredential,
		auth.ErrMultipleAuthorization, auth.ErrUnsupportedScheme, auth.ErrCredentialInURL,
	}
	tests := []struct {
		err  error
		root error
		msg  string
	}{
		{errRevoked, auth.ErrRevoked, "apikey: key revoked"},
		{errExpired, auth.ErrExpired, "apikey: key expired"},
		{errKeyStore, auth.ErrUnavailable, "apikey: key store failed"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
			for _, r := range roots {
				if got, want := errors.Is(tt.err, r), r == tt.root; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", r, got, want)
				}
			}
			if errors.Is(tt.err, ErrSecretMismatch) {
				t.Error("only the secret mismatch may match ErrSecretMismatch")
			}
		})
	}
}
