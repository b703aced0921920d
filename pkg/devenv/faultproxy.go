package devenv

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Fault is what a FaultProxy does to the requests it forwards.
type Fault string

// The faults a FaultProxy injects.
const (
	FaultNone Fault = "none"
	// FaultLatency delays every request by the proxy's Latency.
	FaultLatency Fault = "latency"
	// FaultStall forwards the status, the headers and the first bytes of the
	// body, then sends nothing more until the client gives up.
	FaultStall Fault = "stall mid-body"
	// FaultReset closes the connection with a TCP reset instead of answering.
	FaultReset Fault = "connection reset"
	// Fault5xx answers 503 with a proxy's error page.
	Fault5xx Fault = "503"
	// Fault401 answers as InfluxDB does when credentials stop working.
	Fault401 Fault = "401 after working"
	// FaultTruncate forwards half of the body and then cuts the connection.
	FaultTruncate Fault = "truncated body"
	// FaultGarble forwards the body with every byte scrambled.
	FaultGarble Fault = "garbled body"
)

// FaultProxy is an HTTP proxy on a free loopback port in front of a server
// (InfluxDB) that injects the fault it is set to, for fault tests.
type FaultProxy struct {
	URL     string
	Latency time.Duration

	mu       sync.Mutex
	fault    Fault
	server   *http.Server
	stalled  chan struct{}
	upstream *httputil.ReverseProxy
}

// StartFaultProxy starts a proxy to upstream that forwards faithfully until
// Set says otherwise. Stop it with Stop.
func StartFaultProxy(upstream string) (*FaultProxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{URL: "http://" + ln.Addr().String(), fault: FaultNone, stalled: make(chan struct{}),
		upstream: httputil.NewSingleHostReverseProxy(target)}
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// Set switches the fault for the requests that arrive from now on; it
// releases the requests stalled by the fault before.
func (p *FaultProxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == FaultStall {
		close(p.stalled)
		p.stalled = make(chan struct{})
	}
	p.fault = f
}

// Stop closes the proxy and every connection through it.
func (p *FaultProxy) Stop() {
	p.Set(FaultNone)
	_ = p.server.Close()
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	fault, stalled := p.fault, p.stalled
	p.mu.Unlock()
	switch fault {
	case FaultLatency:
		select {
		case <-time.After(p.Latency):
		case <-r.Context().Done():
			return
		}
	case FaultReset:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // close sends RST
			}
			_ = conn.Close()
		}
		return
	case Fault5xx:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body>503 Service Unavailable</body></html>")
		return
	case Fault401:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"authorization failed"}`)
		return
	case FaultStall, FaultTruncate, FaultGarble:
		p.mangle(w, r, fault, stalled)
		return
	}
	p.upstream.ServeHTTP(w, r)
}

// mangle forwards the request and spoils the answer's body.
func (p *FaultProxy) mangle(w http.ResponseWriter, r *http.Request, fault Fault, stalled chan struct{}) {
	rec := &bodyRecorder{header: http.Header{}, status: http.StatusOK}
	p.upstream.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
	body := rec.body.Bytes()
	for k, v := range rec.header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	switch fault {
	case FaultGarble:
		for i := range body {
			body[i] ^= 0x5a
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	case FaultTruncate:
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // net/http cuts the connection mid-answer
	case FaultStall:
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:min(len(body), 64)])
		_ = http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-stalled:
		}
		panic(http.ErrAbortHandler)
	}
}

// bodyRecorder keeps an upstream answer for mangle.
type bodyRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bodyRecorder) Header() http.Header         { return b.header }
func (b *bodyRecorder) WriteHeader(status int)      { b.status = status }
func (b *bodyRecorder) Write(p []byte) (int, error) { return b.body.Write(p) }
