package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

const (
	certFileName = "tls-cert.pem"
	keyFileName  = "tls-key.pem"
)

// ensureSelfSigned returns the paths of the data dir's self-signed
// certificate and key, creating them on first use: ECDSA P-256, valid for
// localhost, 127.0.0.1 and ::1, so `curl --cacert DIR/tls-cert.pem` works.
//
// The pair is published as one unit, safe against a crash at any moment
// and against several processes starting at once: the key first, then the
// certificate as the commit point, each written to a temporary file,
// synced, and linked into place only if absent (the loser of a race reads
// the winner's file). A key without a certificate (a crash between the
// two) is reused: it was never published. A certificate is only ever made
// for the key already in place, and on every start the two must match;
// a leftover that does not is an error naming the files and the fix,
// never silently replaced.
func ensureSelfSigned(dir string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, certFileName), filepath.Join(dir, keyFileName)
	if _, err := os.Stat(certFile); err == nil {
		return certFile, keyFile, checkPair(dir, certFile, keyFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	key, err := ensureKey(keyFile)
	if err != nil {
		return "", "", err
	}
	der, err := selfSigned(key, now)
	if err != nil {
		return "", "", err
	}
	if _, err := linkNew(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	// Ours or a racing process's certificate: either is for this key.
	return certFile, keyFile, checkPair(dir, certFile, keyFile)
}

// checkPair verifies that the certificate and key files load and belong
// together.
func checkPair(dir, certFile, keyFile string) error {
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		return fmt.Errorf("TLS files %s and %s do not load as a pair (%v); remove both to have serve make a new self-signed pair, or pass --tls-cert and --tls-key", certFile, keyFile, err)
	}
	return nil
}

// ensureKey returns the private key in keyFile, creating it if absent.
func ensureKey(keyFile string) (*ecdsa.PrivateKey, error) {
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if _, err := linkNew(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	var key any
	if block != nil {
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if block == nil || err != nil || !ok {
		return nil, fmt.Errorf("TLS key %s is not a PEM PKCS #8 ECDSA key and there is no certificate for it; remove it to have serve make a new pair", keyFile)
	}
	return ec, nil
}

func selfSigned(key *ecdsa.PrivateKey, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Audexum reference server (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so curl --cacert accepts it as its own root
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
}

// linkNew publishes data as name, with mode perm, unless name exists: it
// writes a temporary file in the same directory, syncs it, links it to
// name (link, unlike rename, fails if name exists, so the first of
// several racing processes wins and the others keep its file) and syncs
// the directory. name never exists half written or with a wider mode.
// created reports whether this call's data is the one published.
func linkNew(name string, data []byte, perm os.FileMode) (created bool, err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".new-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	err = os.Link(f.Name(), name)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	// Also when another process won: what follows relies on its file
	// surviving a crash.
	return err == nil, syncDir(dir)
}
