// Package certgen makes self-signed TLS certificates for trying PyNet over
// TLS (`pynet cert`) and for tests. A self-signed certificate proves nothing
// to anyone who has not been handed it; for a real deployment, use one from
// a certificate authority.
package certgen

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
	"strings"
	"time"
)

// DefaultHosts are the names a certificate is for when none are given.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// DefaultValidity is how long a generated certificate is valid.
const DefaultValidity = 365 * 24 * time.Hour

// backdate is subtracted from NotBefore so that a peer whose clock is a
// little behind does not reject a certificate made a moment ago.
const backdate = time.Hour

// File names written by WriteFiles.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// ErrExists is returned by WriteFiles when a file is already there and
// overwriting was not asked for.
var ErrExists = errors.New("file already exists")

// Pair is a certificate and its private key, both PEM-encoded.
type Pair struct {
	CertPEM []byte // one CERTIFICATE block
	KeyPEM  []byte // one PRIVATE KEY block (PKCS #8)
	Cert    *x509.Certificate
}

// Generate makes an ECDSA P-256 certificate, signed by its own key, for the
// given host names and IP addresses (DefaultHosts when empty), valid from
// now (backdated an hour) for validFor (DefaultValidity when 0 or less).
//
// The certificate is its own issuer, so it carries the CA basic constraint
// and the cert-sign key usage: verifiers built on OpenSSL (Python's ssl,
// curl) then accept it as a trust anchor when handed it as the CA file, as
// Go's crypto/tls does.
func Generate(hosts []string, validFor time.Duration, now time.Time) (*Pair, error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	if validFor <= 0 {
		validFor = DefaultValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"PyNet Chat (self-signed)"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the new certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return &Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		Cert:    cert,
	}, nil
}

// ParseHosts splits a comma-separated list of host names and IP addresses,
// dropping spaces and empty entries. It refuses names that cannot be DNS
// names (a leading "*." wildcard is allowed).
func ParseHosts(list string) ([]string, error) {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if net.ParseIP(h) == nil && !validDNSName(h) {
			return nil, fmt.Errorf("%q is neither a host name nor an IP address", h)
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, errors.New("no host names given")
	}
	return hosts, nil
}

func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// TLSCertificate returns the pair as a tls.Certificate for a server.
func (p *Pair) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(p.CertPEM, p.KeyPEM)
}

// CertPool returns a pool that trusts just this certificate, for a client.
func (p *Pair) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Cert)
	return pool
}

// WriteFiles writes dir/cert.pem (mode 0644) and dir/key.pem (mode 0600),
// creating dir (mode 0700) if needed. Unless force is set it refuses, with
// an error wrapping ErrExists and writing nothing, when either file exists.
// With force, each file is replaced by renaming a fresh one over it, so an
// old key file's looser mode is not kept.
func (p *Pair) WriteFiles(dir string, force bool) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	if !force {
		for _, path := range []string{certPath, keyPath} {
			if _, err := os.Lstat(path); err == nil {
				return "", "", fmt.Errorf("%s: %w (use -force to replace it)", path, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", "", err
			}
		}
	}
	// The key first: a certificate without its key is useless, so if the
	// second write fails, the first is undone.
	if err := writeFile(keyPath, p.KeyPEM, 0o600, force); err != nil {
		return "", "", err
	}
	if err := writeFile(certPath, p.CertPEM, 0o644, force); err != nil {
		os.Remove(keyPath)
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writeFile writes data to path with mode perm. Without replace it fails if
// path exists (O_EXCL, so a file appearing meanwhile is not clobbered); with
// replace it writes a temporary file next to path and renames it over path.
func writeFile(path string, data []byte, perm os.FileMode, replace bool) error {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w (use -force to replace it)", path, ErrExists)
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return err
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		return nil
	}
	os.Remove(tmp)
	return err
}
