// Package jws holds the JWS plumbing shared by the access-token verifier
// (package jwt) and the DPoP proof checker (package dpop): a strict,
// allocation-free reader of JSON objects and the table of signature
// algorithms with their verification. It is not API: nothing here is
// promised to stay.
package jws
