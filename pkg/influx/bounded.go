package influx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Limits on what Vigil takes from an answer, whoever sent it: a broken or
// hostile upstream must cost one query an error, never the plugin process
// its memory or its stack. Each is far above what InfluxDB sends.
const (
	// MaxString is the longest string (measurement, tag, column name or
	// value) taken from an answer: InfluxDB keeps keys and string fields
	// under 64 KiB.
	MaxString = 1 << 20
	// MaxAnswerStrings bounds the bytes of all strings one answer may
	// leave in memory (each string counted with stringOverhead more, so
	// that a flood of empty names costs too).
	MaxAnswerStrings = 256 << 20
	// maxFluxLine is the longest line of a Flux (annotated CSV) answer: one
	// record, every column of it. encoding/csv, which the InfluxDB client
	// reads it with, would hold a line that never ends until the timeout.
	maxFluxLine = 4 << 20
	// maxFluxCommas bounds the columns of a Flux answer line (commas in
	// strings count too): the InfluxDB client makes an object per column
	// of every table before Vigil sees one.
	maxFluxCommas = 1 << 16
	// stringOverhead is what a Go string costs beyond its bytes.
	stringOverhead = 16
)

// boundFlux returns a copy of c whose Flux answers (/api/v2/query) fail
// once a line exceeds maxFluxLine; nil stays nil (the InfluxDB client's
// own HTTP client, for tools and tests).
func boundFlux(c *http.Client) *http.Client {
	if c == nil {
		return nil
	}
	bounded := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	bounded.Transport = fluxLines{next}
	return &bounded
}

// fluxLines wraps the bodies of Flux answers in a lineLimit.
type fluxLines struct{ next http.RoundTripper }

func (f fluxLines) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/api/v2/query") {
		resp.Body = &lineLimit{ReadCloser: resp.Body, max: maxFluxLine, maxCommas: maxFluxCommas, url: req.URL.Scheme + "://" + req.URL.Host}
	}
	return resp, err
}

// lineLimit fails a read once a line is longer than max bytes or has more
// than maxCommas commas.
type lineLimit struct {
	io.ReadCloser
	max, maxCommas int
	line, commas   int // of the line being read
	url            string
}

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.over() {
		return 0, l.tooLong()
	}
	n, err := l.ReadCloser.Read(p)
	for rest := p[:n]; len(rest) > 0 && !l.over(); {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.line += len(rest)
			l.commas += bytes.Count(rest, []byte{','})
			break
		}
		l.line += i
		l.commas += bytes.Count(rest[:i], []byte{','})
		if l.over() {
			break
		}
		l.line, l.commas, rest = 0, 0, rest[i+1:]
	}
	if l.over() {
		return 0, l.tooLong()
	}
	return n, err
}

func (l *lineLimit) over() bool { return l.line > l.max || l.commas > l.maxCommas }

func (l *lineLimit) tooLong() error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(
		"InfluxDB at %s sent a Flux answer with a line longer than %d bytes or %d columns: not an answer Vigil reads",
		l.url, l.max, l.maxCommas)}
}
