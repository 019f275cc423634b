package main

// A minimal server-side WebSocket (RFC 6455) implementation plus the
// Kubernetes channel framing ("channel.k8s.io", "base64.channel.k8s.io",
// "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "v5.channel.k8s.io").

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

type wsConn struct {
	c        net.Conn
	br       *bufio.Reader
	wmu      sync.Mutex
	protocol string
	b64      bool
	closed   bool
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// wsUpgrade answers the handshake choosing the first of our supported
// protocols (in our preference order) that the client offered.
func wsUpgrade(w http.ResponseWriter, r *http.Request, supported []string) (*wsConn, error) {
	if !isWebSocket(r) {
		http.Error(w, "expected a WebSocket upgrade", http.StatusBadRequest)
		return nil, errors.New("not a websocket request")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "bad WebSocket handshake", http.StatusBadRequest)
		return nil, errors.New("bad handshake")
	}
	var offered []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				offered = append(offered, p)
			}
		}
	}
	proto := ""
	if len(offered) > 0 {
		for _, s := range supported {
			for _, o := range offered {
				if o == s {
					proto = s
					break
				}
			}
			if proto != "" {
				break
			}
		}
		if proto == "" {
			http.Error(w, fmt.Sprintf("requested protocol(s) are not supported: %v; supports %v", offered, supported), http.StatusBadRequest)
			return nil, errors.New("no common subprotocol")
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return nil, errors.New("cannot hijack")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	if proto != "" {
		resp += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	resp += "\r\n"
	if _, err := conn.Write([]byte(resp)); err != nil {
		conn.Close()
		return nil, err
	}
	log.Printf("websocket %s: offered %v, chose %q", r.URL.Path, offered, proto)
	return &wsConn{c: conn, br: brw.Reader, protocol: proto, b64: strings.Contains(proto, "base64")}, nil
}

// readMessage returns the next complete data message (opcode 1 or 2),
// answering pings and close frames itself.
func (ws *wsConn) readMessage() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(ws.br, h[:]); err != nil {
			return nil, err
		}
		fin := h[0]&0x80 != 0
		op := h[0] & 0x0f
		masked := h[1]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(ws.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(ws.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 64<<20 {
			return nil, errors.New("websocket frame too large")
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(ws.br, mask[:]); err != nil {
				return nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(ws.br, payload); err != nil {
			return nil, err
		}
		if masked {
			for i := range payload {
				payload[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8: // close
			ws.writeFrame(0x8, payload)
			return nil, io.EOF
		case 0x9: // ping
			ws.writeFrame(0xA, payload)
			continue
		case 0xA: // pong
			continue
		case 0x0, 0x1, 0x2:
			msg = append(msg, payload...)
			if fin {
				return msg, nil
			}
		default:
			return nil, fmt.Errorf("unknown websocket opcode %d", op)
		}
	}
}

func (ws *wsConn) writeFrame(op byte, payload []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	if ws.closed {
		return io.ErrClosedPipe
	}
	hdr := make([]byte, 0, 10)
	hdr = append(hdr, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n < 65536:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		hdr = append(hdr, b[:]...)
	}
	if _, err := ws.c.Write(append(hdr, payload...)); err != nil {
		return err
	}
	if op == 0x8 {
		ws.closed = true
	}
	return nil
}

// readChannel returns the channel number and the decoded data of the next message.
func (ws *wsConn) readChannel() (byte, []byte, error) {
	for {
		m, err := ws.readMessage()
		if err != nil {
			return 0, nil, err
		}
		if len(m) == 0 {
			continue
		}
		ch, data := m[0], m[1:]
		if ws.b64 {
			ch -= '0'
			dec, err := base64.StdEncoding.DecodeString(string(data))
			if err != nil {
				return 0, nil, err
			}
			data = dec
		}
		return ch, data, nil
	}
}

func (ws *wsConn) writeChannel(ch byte, data []byte) error {
	if ws.b64 {
		return ws.writeFrame(0x1, []byte(string(rune('0'+ch))+base64.StdEncoding.EncodeToString(data)))
	}
	frame := make([]byte, len(data)+1)
	frame[0] = ch
	copy(frame[1:], data)
	return ws.writeFrame(0x2, frame)
}

func (ws *wsConn) close() {
	ws.writeFrame(0x8, []byte{0x03, 0xe8}) // 1000 normal closure
	ws.c.Close()
}

// chanWriter is an io.Writer onto one channel.
type chanWriter struct {
	ws *wsConn
	ch byte
}

func (w chanWriter) Write(p []byte) (int, error) {
	// keep frames reasonably small
	for off := 0; off < len(p); off += 32 << 10 {
		end := off + 32<<10
		if end > len(p) {
			end = len(p)
		}
		if err := w.ws.writeChannel(w.ch, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}
