package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/zgda/zgda/engine/api"
)

// trackingListener remembers its open connections, so that shutdown can
// close them, and caps them at API.MaxConnections: one over the cap is
// answered 429 in the API's JSON, with Retry-After, and closed — never
// fasthttp's plain-text 503, which alt-DA clients read as "fail over".
type trackingListener struct {
	net.Listener
	max   int
	e     *Engine
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newTrackingListener(ln net.Listener, max int, e *Engine) *trackingListener {
	return &trackingListener{Listener: ln, max: max, e: e, conns: map[*trackedConn]struct{}{}}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		full := len(l.conns) >= l.max
		tc := &trackedConn{Conn: c, l: l}
		if !full {
			l.conns[tc] = struct{}{}
		}
		l.mu.Unlock()
		if !full {
			return tc, nil
		}
		l.e.m.rejected.WithLabelValues("connections_full").Inc()
		go l.refuse(c)
	}
}

// refuse answers a connection over the cap. It first reads the request's
// head (at most 8 KiB, for at most a second): an answer sent before the
// client has written its request is one the client takes for garbage on an
// idle connection.
func (l *trackingListener) refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	head := make([]byte, 0, 8<<10)
	for len(head) < cap(head) && !bytes.Contains(head, []byte("\r\n\r\n")) {
		n, err := c.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if err != nil {
			break
		}
	}
	body, _ := json.Marshal(api.ErrorBody{
		Error: fmt.Sprintf("%v (%d connections open)", api.ErrTooManyRequests, l.max),
		Code:  api.CodeTooManyRequests,
	})
	retry := int(time.Duration(l.e.cfg.API.RetryAfter).Seconds())
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", retry, len(body), body)
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	cs := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
