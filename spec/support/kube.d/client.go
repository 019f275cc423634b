package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// kclient is a tiny Kubernetes API client: bearer token, JSON in and out.
type kclient struct {
	server string
	token  string
	hc     *http.Client
}

func loadCA(path string) *x509.CertPool {
	pem, err := os.ReadFile(path)
	if err != nil {
		fatalf("read CA %s: %v", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fatalf("no certificate in %s", path)
	}
	return pool
}

func newClient(server, token, caFile string, conns int) *kclient {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: loadCA(caFile)},
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
	}
	return &kclient{server: server, token: token, hc: &http.Client{Transport: tr}}
}

type apiError struct {
	Code int
	Body string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body) }

func isCode(err error, code int) bool {
	if e, ok := err.(*apiError); ok {
		return e.Code == code
	}
	return false
}

// do sends body (nil, []byte or any JSON-encodable value) and decodes the reply into out (if non-nil).
func (c *kclient) do(ctx context.Context, method, path, ctype string, body interface{}, out interface{}) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vcli-kube-tools")
	if rd != nil {
		if ctype == "" {
			ctype = "application/json"
		}
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return &apiError{resp.StatusCode, string(bytes.TrimSpace(data))}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (c *kclient) get(ctx context.Context, path string, out interface{}) error {
	return c.do(ctx, "GET", path, "", nil, out)
}

func (c *kclient) post(ctx context.Context, path string, body, out interface{}) error {
	return c.do(ctx, "POST", path, "", body, out)
}

func (c *kclient) mergePatch(ctx context.Context, path string, body interface{}) error {
	return c.do(ctx, "PATCH", path, "application/merge-patch+json", body, nil)
}

// retry runs f until it succeeds, a non-retryable error occurs, or attempts run out.
func retry(attempts int, f func() error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = f(); err == nil {
			return nil
		}
		if e, ok := err.(*apiError); ok && e.Code != 429 && e.Code < 500 {
			return err
		}
		time.Sleep(time.Duration(100*(i+1)) * time.Millisecond)
	}
	return err
}

type obj = map[string]interface{}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
