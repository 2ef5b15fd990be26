package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// rawRequest is a complete HTTP/1.1 POST of body to target (the host and
// path of a URL), signed with sig.
func rawRequest(target string, body []byte, sig string) []byte {
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	path := u.RequestURI()
	b := make([]byte, 0, 160+len(path)+len(body))
	b = append(b, "POST "+path+" HTTP/1.1\r\nHost: "+u.Host+
		"\r\nContent-Type: application/json\r\nX-Hub-Signature-256: "+sig+
		"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"...)
	return append(b, body...)
}

// rawClient is a minimal HTTP/1.1 client for one sender: one persistent
// connection per target, requests written as prepared, responses read
// (status, Content-Length or chunked body) and discarded. It reconnects
// after any error; a request that failed is reported, not retried.
type rawClient struct {
	addrs []string
	conns []*rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

const rawTimeout = 10 * time.Second

func newRawClient(targets []string) *rawClient {
	rc := &rawClient{conns: make([]*rawConn, len(targets))}
	for _, t := range targets {
		host := t
		if u, err := url.Parse(t); err == nil {
			host = u.Host
		}
		rc.addrs = append(rc.addrs, host)
	}
	return rc
}

func (rc *rawClient) close() {
	for i, c := range rc.conns {
		if c != nil {
			c.c.Close()
			rc.conns[i] = nil
		}
	}
}

// do writes req to target i and returns the response's status.
func (rc *rawClient) do(ctx context.Context, i int, req []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c := rc.conns[i]
	if c == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", rc.addrs[i])
		if err != nil {
			return 0, err
		}
		c = &rawConn{c: conn, br: bufio.NewReaderSize(conn, 4096)}
		rc.conns[i] = c
	}
	deadline := time.Now().Add(rawTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.c.SetDeadline(deadline)
	status, keep, err := c.roundTrip(req)
	if err != nil || !keep {
		c.c.Close()
		rc.conns[i] = nil
	}
	return status, err
}

var errBadResponse = errors.New("loadtest: malformed HTTP response")

// roundTrip writes req and reads one response; keep reports whether the
// connection may carry another request.
func (c *rawConn) roundTrip(req []byte) (status int, keep bool, err error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") {
		return 0, false, fmt.Errorf("%w: %q", errBadResponse, line)
	}
	if status, err = strconv.Atoi(line[9:12]); err != nil {
		return 0, false, fmt.Errorf("%w: %q", errBadResponse, line)
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		h, err := c.line()
		if err != nil {
			return status, false, err
		}
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			if length, err = strconv.Atoi(value); err != nil {
				return status, false, fmt.Errorf("%w: %q", errBadResponse, h)
			}
		case "transfer-encoding":
			chunked = strings.EqualFold(value, "chunked")
		case "connection":
			if strings.EqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case chunked:
		err = c.chunked()
	case length >= 0:
		_, err = c.br.Discard(length)
	default:
		_, err = io.Copy(io.Discard, c.br) // body until close
		keep = false
	}
	if err != nil {
		return status, false, err
	}
	return status, keep, nil
}

// chunked discards a chunked body and its trailers.
func (c *rawConn) chunked() error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errBadResponse, line)
		}
		if n == 0 {
			for { // trailers up to the blank line
				t, err := c.line()
				if err != nil || t == "" {
					return err
				}
			}
		}
		if _, err := c.br.Discard(int(n)); err != nil {
			return err
		}
		if l, err := c.line(); err != nil || l != "" {
			return fmt.Errorf("%w: chunk end %q %v", errBadResponse, l, err)
		}
	}
}

// line reads one CRLF-terminated line without its terminator.
func (c *rawConn) line() (string, error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("%w: line too long", errBadResponse)
		}
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
