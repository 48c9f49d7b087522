package apikey

import (
	"errors"
	"testing"

	"github.com/audexum/auth"
)

// TestRefusalErrors: each prebuilt answer matches its root sentinel and its
// reason, and no other root sentinel (the Authenticator picks the response
// by them).
func TestRefusalErrors(t *testing.T) {
	roots := []error{
		auth.ErrInvalidCredential, auth.ErrUnknownCredential, auth.ErrExpired,
		auth.ErrRevoked, auth.ErrUnavailable, auth.ErrNoCredential,
		auth.ErrMultipleAuthorization, auth.ErrUnsupportedScheme, auth.ErrCredentialInURL,
	}
	tests := []struct {
		err    error
		root   error
		reason error
		msg    string
	}{
		{errVerifyMalformed, auth.ErrInvalidCredential, ErrMalformed, "auth: invalid credential: apikey: malformed key"},
		{errVerifyPrefix, auth.ErrInvalidCredential, ErrWrongPrefix, "auth: invalid credential: apikey: wrong key prefix"},
		{errVerifyEnv, auth.ErrInvalidCredential, ErrWrongEnvironment, "auth: invalid credential: apikey: key environment not accepted"},
		{errVerifyChecksum, auth.ErrInvalidCredential, ErrChecksum, "auth: invalid credential: apikey: key checksum mismatch"},
		{errVerifySecret, auth.ErrInvalidCredential, ErrSecretMismatch, "auth: invalid credential: apikey: secret does not match the key ID"},
		{errVerifyUnknown, auth.ErrUnknownCredential, ErrNotFound, "auth: unknown credential: apikey: key not found"},
		{errVerifyPepper, auth.ErrUnavailable, ErrUnknownPepper, "auth: verification temporarily unavailable: apikey: key hashed with an unknown pepper version"},
		{errVerifyRevoked, auth.ErrRevoked, nil, "apikey: auth: credential revoked"},
		{errVerifyExpired, auth.ErrExpired, nil, "apikey: auth: credential expired"},
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
			if tt.reason != nil && !errors.Is(tt.err, tt.reason) {
				t.Errorf("errors.Is(err, %v) = false, want true", tt.reason)
			}
			if errors.Is(tt.err, ErrSecretMismatch) != (tt.reason == ErrSecretMismatch) {
				t.Error("only the secret mismatch may match ErrSecretMismatch")
			}
		})
	}
	for _, in := range []error{ErrWrongPrefix, ErrWrongEnvironment, ErrChecksum, ErrMalformed} {
		if got := verifyError(in); !errors.Is(got, in) || !errors.Is(got, auth.ErrInvalidCredential) {
			t.Errorf("verifyError(%v) = %v, want it to match %v and ErrInvalidCredential", in, got, in)
		}
	}
}
