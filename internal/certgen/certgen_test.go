package certgen

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGenerateDefaults(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p, err := Generate(nil, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Cert
	if !slices.Equal(c.DNSNames, []string{"localhost"}) {
		t.Errorf("DNS names %v, want [localhost]", c.DNSNames)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP addresses %v, want [127.0.0.1 ::1]", c.IPAddresses)
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if !c.NotAfter.Equal(now.Add(DefaultValidity)) || !c.NotBefore.Before(now) {
		t.Errorf("valid %v to %v, want from before %v to %v", c.NotBefore, c.NotAfter, now, now.Add(DefaultValidity))
	}
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("no server-auth extended key usage: %v", c.ExtKeyUsage)
	}
	if _, err := p.TLSCertificate(); err != nil {
		t.Errorf("certificate and key do not go together: %v", err)
	}
	// Trusted as its own root, for each name, and for nothing else.
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: p.CertPool(), DNSName: name, CurrentTime: now}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: p.CertPool(), DNSName: "example.com", CurrentTime: now}); err == nil {
		t.Errorf("verified for example.com")
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: p.CertPool(), DNSName: "localhost", CurrentTime: now.Add(DefaultValidity + time.Minute)}); err == nil {
		t.Errorf("verified after expiry")
	}
	if !bytes.HasPrefix(p.CertPEM, []byte("-----BEGIN CERTIFICATE-----\n")) || !bytes.HasPrefix(p.KeyPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("unexpected PEM blocks:\n%s%s", p.CertPEM, p.KeyPEM)
	}
}

func TestGenerateHostsAndValidity(t *testing.T) {
	now := time.Now()
	p, err := Generate([]string{"chat.example", "*.chat.example", "10.0.0.7"}, 48*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cert.Subject.CommonName != "chat.example" || !slices.Equal(p.Cert.DNSNames, []string{"chat.example", "*.chat.example"}) ||
		len(p.Cert.IPAddresses) != 1 || !p.Cert.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) {
		t.Errorf("subject %q, DNS %v, IP %v", p.Cert.Subject.CommonName, p.Cert.DNSNames, p.Cert.IPAddresses)
	}
	if got := p.Cert.NotAfter.Sub(now); got < 47*time.Hour || got > 49*time.Hour {
		t.Errorf("valid for %v after now, want 48h", got)
	}
	other, _ := Generate(nil, 0, now)
	if p.Cert.SerialNumber.Cmp(other.Cert.SerialNumber) == 0 {
		t.Errorf("two certificates share serial %v", p.Cert.SerialNumber)
	}
}

func TestParseHosts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"localhost", []string{"localhost"}},
		{" localhost , 127.0.0.1,,::1 ", []string{"localhost", "127.0.0.1", "::1"}},
		{"*.example.com,host_1.lan", []string{"*.example.com", "host_1.lan"}},
		{"", nil},
		{" , ", nil},
		{"bad host", nil},
		{"-leading.example", nil},
		{"a..b", nil},
		{"http://x", nil},
	} {
		got, err := ParseHosts(tc.in)
		if (err != nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("ParseHosts(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	p, err := Generate(nil, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := p.WriteFiles(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	mode := func(path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(keyPath); m != 0o600 {
		t.Errorf("key mode %v, want 0600", m)
	}
	if m := mode(certPath); m&0o077 == 0o077 || m&0o400 == 0 {
		t.Errorf("cert mode %v", m)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Errorf("the written files do not load: %v", err)
	}

	// No overwriting without force, and nothing written.
	p2, _ := Generate(nil, 0, time.Now())
	if _, _, err := p2.WriteFiles(dir, false); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "-force") {
		t.Errorf("second WriteFiles: %v, want ErrExists mentioning -force", err)
	}
	if b, _ := os.ReadFile(certPath); !bytes.Equal(b, p.CertPEM) {
		t.Errorf("cert.pem was changed by a refused write")
	}
	if b, _ := os.ReadFile(keyPath); !bytes.Equal(b, p.KeyPEM) {
		t.Errorf("key.pem was changed by a refused write")
	}
	// Only the key there is still refused.
	os.Remove(certPath)
	if _, _, err := p2.WriteFiles(dir, false); !errors.Is(err, ErrExists) {
		t.Errorf("WriteFiles with key.pem present: %v, want ErrExists", err)
	}
	if _, err := os.Stat(certPath); err == nil {
		t.Errorf("cert.pem written although key.pem was in the way")
	}

	// With force, both are replaced and the key's loose mode is not kept.
	os.Chmod(keyPath, 0o644)
	if _, _, err := p2.WriteFiles(dir, true); err != nil {
		t.Fatalf("WriteFiles with force: %v", err)
	}
	if b, _ := os.ReadFile(keyPath); !bytes.Equal(b, p2.KeyPEM) {
		t.Errorf("key.pem not replaced")
	}
	if m := mode(keyPath); m != 0o600 {
		t.Errorf("replaced key mode %v, want 0600", m)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Errorf("the replaced files do not load: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want cert.pem and key.pem only", len(entries))
	}
}
