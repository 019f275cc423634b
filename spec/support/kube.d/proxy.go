package main

// The fault proxy: sits between a client and the API server.
//
//   --listen       TCP passthrough (TLS is spliced through untouched, client certificates work)
//   --http-listen  TLS-terminating HTTP reverse proxy with its own certificate (bearer tokens
//                  only); needed for HTTP-level faults (http500, http429)
//   --control      plain HTTP control port: GET /status, POST /mode (body or ?mode=)
//
// Modes (POST /mode):
//   pass            forward normally (clears every fault below, re-opens refused listeners)
//   drop            close every current connection now (mode otherwise unchanged)
//   stall           stop forwarding bytes (connections stay open; new ones are accepted but hang)
//   latency=MS      delay every chunk of bytes by MS milliseconds, in both directions
//   refuse          close the listeners and all connections: the server is "gone"
//   http500[=N]     (HTTP listener) answer the next N requests (all if no N) with 500
//   http429[=S]     (HTTP listener) answer with 429 and Retry-After: S (default 1); ",count=N" limits it
//   http503[=N][,retry=S]  (HTTP listener) 503, with Retry-After: S when given
//   trickle=BPS     forward at most BPS bytes a second, in both directions (0 or pass: off)
//   truncate=N      cut every connection after N bytes from the server (its answer ends mid-body)
//   reset           close every current connection with a TCP reset (RST), not a FIN
//   hang            (HTTP listener) answer 200 with the start of a list, then never send more nor close

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type faultProxy struct {
	upstream string
	tcpAddr  string
	httpAddr string
	certFile string
	keyFile  string

	mu         sync.Mutex
	latency    time.Duration
	stallCh    chan struct{} // non-nil while stalled; closed on resume
	refusing   bool
	httpCode   int
	httpCount  int // remaining injected errors; -1 = unlimited
	retryAfter int
	trickle    int   // bytes a second; 0: unlimited
	truncate   int64 // bytes from the server per connection; 0: unlimited
	hang       bool
	conns      map[net.Conn]struct{}
	tcpLn      net.Listener
	httpLn     net.Listener
	lastMode   string

	accepted, dropped, requests, injected int64
	rp                                    *httputil.ReverseProxy
}

func runProxy(args []string) {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	p := &faultProxy{conns: map[net.Conn]struct{}{}, lastMode: "pass"}
	fs.StringVar(&p.upstream, "upstream", "", "API server host:port")
	fs.StringVar(&p.tcpAddr, "listen", "", "TCP passthrough listen address")
	fs.StringVar(&p.httpAddr, "http-listen", "", "TLS-terminating HTTP listen address (optional)")
	fs.StringVar(&p.certFile, "tls-cert", "", "certificate for --http-listen")
	fs.StringVar(&p.keyFile, "tls-key", "", "key for --http-listen")
	ca := fs.String("upstream-ca", "", "CA of the API server (for --http-listen)")
	control := fs.String("control", "", "control HTTP listen address")
	fs.Parse(args)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if p.httpAddr != "" {
		u, _ := url.Parse("https://" + p.upstream)
		p.rp = httputil.NewSingleHostReverseProxy(u)
		p.rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: loadCA(*ca)},
			MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
		p.rp.FlushInterval = -1
		p.rp.ErrorLog = log.New(io.Discard, "", 0)
		p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			writeK8sStatus(w, 502, "BadGateway", "vcli fault proxy: upstream error: "+err.Error(), 0)
		}
	}
	if err := p.listen(); err != nil {
		fatalf("proxy: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { p.writeStatus(w) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/mode" {
			http.NotFound(w, r)
			return
		}
		if r.Method == "GET" && r.URL.Query().Get("mode") == "" {
			p.writeStatus(w)
			return
		}
		mode := r.URL.Query().Get("mode")
		if mode == "" {
			b, _ := io.ReadAll(r.Body)
			mode = strings.TrimSpace(string(b))
		}
		if err := p.setMode(mode); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		p.writeStatus(w)
	})
	log.Printf("proxy: tcp %s, http %s -> %s; control %s", p.tcpAddr, p.httpAddr, p.upstream, *control)
	fatalf("proxy control: %v", http.ListenAndServe(*control, mux))
}

func (p *faultProxy) writeStatus(w http.ResponseWriter) {
	p.mu.Lock()
	st := obj{"mode": p.lastMode, "latency_ms": p.latency.Milliseconds(), "stalled": p.stallCh != nil,
		"refusing": p.refusing, "http_error": p.httpCode, "http_error_remaining": p.httpCount,
		"active_connections": len(p.conns), "accepted_total": atomic.LoadInt64(&p.accepted),
		"dropped_total": atomic.LoadInt64(&p.dropped), "http_requests_total": atomic.LoadInt64(&p.requests),
		"http_injected_total": atomic.LoadInt64(&p.injected), "listen": p.tcpAddr, "http_listen": p.httpAddr,
		"trickle_bps": p.trickle, "truncate_bytes": p.truncate, "hang": p.hang}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (p *faultProxy) listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after refuse
		if p.tcpLn == nil && p.tcpAddr != "" {
			if p.tcpLn, err = net.Listen("tcp", p.tcpAddr); err == nil {
				go p.acceptTCP(p.tcpLn)
			}
		}
		if err == nil && p.httpLn == nil && p.httpAddr != "" {
			if p.httpLn, err = net.Listen("tcp", p.httpAddr); err == nil {
				go p.serveHTTP(p.httpLn)
			}
		}
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (p *faultProxy) dropAll() { p.closeAll(false) }

// closeAll closes every current connection; with rst, as a TCP reset.
func (p *faultProxy) closeAll(rst bool) {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		if rst {
			raw := c
			if fc, ok := c.(*faultConn); ok {
				raw = fc.Conn
			}
			if tc, ok := raw.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		}
		c.Close()
		atomic.AddInt64(&p.dropped, 1)
	}
	if p.rp != nil {
		p.rp.Transport.(*http.Transport).CloseIdleConnections()
	}
}

func (p *faultProxy) setMode(mode string) error {
	fields := strings.Split(mode, ",")
	name, arg := fields[0], ""
	if i := strings.Index(name, "="); i >= 0 {
		name, arg = name[:i], name[i+1:]
	}
	opts := map[string]string{}
	for _, f := range fields[1:] {
		if i := strings.Index(f, "="); i >= 0 {
			opts[f[:i]] = f[i+1:]
		}
	}
	num := func(s string, def int) (int, error) {
		if s == "" {
			return def, nil
		}
		return strconv.Atoi(s)
	}
	log.Printf("proxy: mode %q", mode)
	switch name {
	case "pass":
		p.mu.Lock()
		p.latency, p.httpCode, p.httpCount, p.refusing = 0, 0, 0, false
		p.trickle, p.truncate, p.hang = 0, 0, false
		if p.stallCh != nil {
			close(p.stallCh)
			p.stallCh = nil
		}
		p.lastMode = "pass"
		p.mu.Unlock()
		return p.listen()
	case "drop":
		p.dropAll()
		return nil
	case "reset":
		p.closeAll(true)
		return nil
	case "trickle", "truncate":
		n, err := num(arg, 0)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=N: a number of bytes expected", name)
		}
		p.mu.Lock()
		if name == "trickle" {
			p.trickle = n
		} else {
			p.truncate = int64(n)
		}
		p.lastMode = mode
		p.mu.Unlock()
	case "hang":
		p.mu.Lock()
		p.hang, p.lastMode = true, "hang"
		p.mu.Unlock()
	case "stall":
		p.mu.Lock()
		if p.stallCh == nil {
			p.stallCh = make(chan struct{})
		}
		p.lastMode = "stall"
		p.mu.Unlock()
	case "latency":
		ms, err := num(arg, 0)
		if err != nil {
			return fmt.Errorf("latency=MS: %v", err)
		}
		p.mu.Lock()
		p.latency = time.Duration(ms) * time.Millisecond
		p.lastMode = mode
		p.mu.Unlock()
	case "refuse":
		p.mu.Lock()
		p.refusing = true
		p.lastMode = "refuse"
		if p.tcpLn != nil {
			p.tcpLn.Close()
			p.tcpLn = nil
		}
		if p.httpLn != nil {
			p.httpLn.Close()
			p.httpLn = nil
		}
		p.mu.Unlock()
		p.dropAll()
	case "http500", "http503", "http429":
		code, _ := strconv.Atoi(name[4:])
		count, retryAfter := -1, 0
		var err error
		if code == 429 {
			if retryAfter, err = num(arg, 1); err != nil {
				return err
			}
			if count, err = num(opts["count"], -1); err != nil {
				return err
			}
		} else if count, err = num(arg, -1); err != nil {
			return err
		} else if retryAfter, err = num(opts["retry"], 0); err != nil {
			return err
		}
		p.mu.Lock()
		p.httpCode, p.httpCount, p.retryAfter = code, count, retryAfter
		p.lastMode = mode
		p.mu.Unlock()
	default:
		return fmt.Errorf("unknown mode %q (pass|drop|reset|stall|latency=MS|trickle=BPS|truncate=N|hang|refuse|http500[=N]|http503[=N][,retry=S]|http429[=SECS][,count=N])", mode)
	}
	return nil
}

func (p *faultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refusing {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *faultProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// gate blocks while stalled and returns the current latency.
func (p *faultProxy) gate(done <-chan struct{}) (time.Duration, bool) {
	for {
		p.mu.Lock()
		ch, lat := p.stallCh, p.latency
		p.mu.Unlock()
		if ch == nil {
			return lat, true
		}
		select {
		case <-ch:
		case <-done:
			return 0, false
		}
	}
}

func (p *faultProxy) acceptTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		atomic.AddInt64(&p.accepted, 1)
		go p.spliceTCP(c)
	}
}

type chunk struct {
	at   time.Time
	data []byte
}

func (p *faultProxy) spliceTCP(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	defer client.Close()
	up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	defer up.Close()
	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done); client.Close(); up.Close() }) }
	go p.pump(client, up, done, finish, false)
	p.pump(up, client, done, finish, true)
	<-done
}

// pump copies src to dst, honouring stall and latency without limiting throughput.
func (p *faultProxy) pump(src, dst net.Conn, done chan struct{}, finish func(), down bool) {
	var sent int64
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case q <- chunk{time.Now(), buf[:n]}:
				case <-done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		lat, ok := p.gate(done)
		if !ok {
			return
		}
		if d := time.Until(c.at.Add(lat)); d > 0 {
			select {
			case <-time.After(d):
			case <-done:
				return
			}
		}
		if !p.shape(dst.Write, c.data, &sent, down, done) {
			finish()
			return
		}
	}
	finish()
}

// shape writes b with the current trickle and truncate faults: false when
// the connection is to end (cut, closed, or write failed). sent counts the
// bytes written on this direction of the connection.
func (p *faultProxy) shape(write func([]byte) (int, error), b []byte, sent *int64, down bool, done <-chan struct{}) bool {
	for len(b) > 0 {
		p.mu.Lock()
		bps, cut := p.trickle, p.truncate
		p.mu.Unlock()
		n := len(b)
		if down && cut > 0 {
			if *sent >= cut {
				return false
			}
			if int64(n) > cut-*sent {
				n = int(cut - *sent)
			}
		}
		if bps > 0 {
			step := bps / 10 // a tenth of a second's worth at a time
			if step < 1 {
				step = 1
			}
			if n > step {
				n = step
			}
		}
		k, err := write(b[:n])
		*sent += int64(k)
		if err != nil {
			return false
		}
		b = b[n:]
		if bps > 0 {
			select {
			case <-time.After(time.Duration(n) * time.Second / time.Duration(bps)):
			case <-done:
				return false
			}
		}
	}
	return true
}

// ----------------------------------------------------------- HTTP listener --

// faultConn applies stall and latency to a TLS-terminated connection.
type faultConn struct {
	net.Conn
	p    *faultProxy
	done chan struct{}
	once sync.Once
	sent int64
}

func (c *faultConn) Read(b []byte) (int, error) {
	if _, ok := c.p.gate(c.done); !ok {
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *faultConn) Write(b []byte) (int, error) {
	lat, ok := c.p.gate(c.done)
	if !ok {
		return 0, net.ErrClosed
	}
	if lat > 0 {
		select {
		case <-time.After(lat):
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
	before := c.sent
	if !c.p.shape(c.Conn.Write, b, &c.sent, true, c.done) {
		c.Close()
		return int(c.sent - before), net.ErrClosed
	}
	return len(b), nil
}

func (c *faultConn) Close() error {
	c.once.Do(func() { close(c.done); c.p.untrack(c) })
	return c.Conn.Close()
}

type faultListener struct {
	net.Listener
	p *faultProxy
}

func (l faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		atomic.AddInt64(&l.p.accepted, 1)
		fc := &faultConn{Conn: c, p: l.p, done: make(chan struct{})}
		if !l.p.track(fc) {
			c.Close()
			continue
		}
		return fc, nil
	}
}

func (p *faultProxy) serveHTTP(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(p.handleHTTP), ErrorLog: log.New(io.Discard, "", 0),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
		BaseContext:  func(net.Listener) context.Context { return context.Background() }}
	srv.ServeTLS(faultListener{ln, p}, p.certFile, p.keyFile)
}

func writeK8sStatus(w http.ResponseWriter, code int, reason, msg string, retryAfter int) {
	st := obj{"kind": "Status", "apiVersion": "v1", "metadata": obj{}, "status": "Failure",
		"message": msg, "reason": reason, "code": code}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		st["details"] = obj{"retryAfterSeconds": retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(st)
}

func (p *faultProxy) handleHTTP(w http.ResponseWriter, r *http.Request) {
	atomic.AddInt64(&p.requests, 1)
	p.mu.Lock()
	code, retryAfter, hang := p.httpCode, p.retryAfter, p.hang
	if code != 0 {
		if p.httpCount > 0 {
			p.httpCount--
			if p.httpCount == 0 {
				p.httpCode = 0
				p.lastMode = "pass"
			}
		}
	}
	p.mu.Unlock()
	if hang {
		atomic.AddInt64(&p.injected, 1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[`)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		<-r.Context().Done() // the client gives up; the server never does
		return
	}
	if code != 0 {
		atomic.AddInt64(&p.injected, 1)
		switch code {
		case 429:
			writeK8sStatus(w, 429, "TooManyRequests", "vcli fault proxy: injected 429, please try again later", retryAfter)
		case 503:
			writeK8sStatus(w, 503, "ServiceUnavailable", "vcli fault proxy: injected 503", retryAfter)
		default:
			writeK8sStatus(w, 500, "InternalError", "vcli fault proxy: injected 500", 0)
		}
		return
	}
	p.rp.ServeHTTP(w, r)
}
