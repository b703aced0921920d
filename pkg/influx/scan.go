package influx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"
)

var nan = math.NaN()

// scanner reads JSON tokens from a stream through a fixed buffer that grows
// only for a token longer than it. Numbers are handed out as the bytes of
// the buffer (no copy), so that a float is parsed by strconv straight from
// the stream: InfluxDB writes floats in their shortest exact form, up to 17
// digits, which general JSON decoders parse through a string they build.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	// read is the number of bytes consumed before buf[0], for messages.
	read int64
	err  error // the reader's error, io.EOF at the end
}

func newScanner(r io.Reader, size int) *scanner { return &scanner{r: r, buf: make([]byte, size)} }

// errSyntax is a body that is not JSON.
type errSyntax struct {
	at  int64
	msg string
}

func (e *errSyntax) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.at) }

func (s *scanner) syntax(format string, args ...any) error {
	return &errSyntax{at: s.read + int64(s.pos), msg: fmt.Sprintf(format, args...)}
}

// more reads into the buffer, keeping buf[keep:end]; it reports whether
// bytes came.
func (s *scanner) more(keep int) bool {
	n := copy(s.buf, s.buf[keep:s.end])
	s.read += int64(keep)
	s.pos -= keep
	s.end = n
	if s.err != nil {
		return false
	}
	if s.end == len(s.buf) { // one token fills the buffer: grow it
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for {
		m, err := s.r.Read(s.buf[s.end:])
		s.end += m
		if err != nil {
			s.err = err
		}
		if m > 0 || err != nil {
			return m > 0
		}
	}
}

// peek skips white space and returns the next byte without consuming it;
// false at the end of the stream.
func (s *scanner) peek() (byte, bool) {
	for {
		for ; s.pos < s.end; s.pos++ {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
			default:
				return c, true
			}
		}
		if !s.more(s.pos) {
			return 0, false
		}
	}
}

// cut is the error for a stream that ended inside a value.
func (s *scanner) cut() error {
	if s.err != nil && !errors.Is(s.err, io.EOF) {
		return s.err
	}
	return io.ErrUnexpectedEOF
}

func (s *scanner) expect(c byte) error {
	got, ok := s.peek()
	switch {
	case !ok:
		return s.cut()
	case got != c:
		return s.syntax("found %q where %q was expected", got, c)
	}
	s.pos++
	return nil
}

// token returns the bytes of a number or literal (true, false, null) at
// the current position; they stay valid until the next read.
func (s *scanner) token() ([]byte, error) {
	if _, ok := s.peek(); !ok {
		return nil, s.cut()
	}
	start := s.pos
	for i := s.pos; ; i++ {
		if i == s.end {
			off := i - start
			if !s.more(start) {
				if s.err != nil && !errors.Is(s.err, io.EOF) {
					return nil, s.err
				}
				if off == 0 {
					return nil, io.ErrUnexpectedEOF
				}
				s.pos = off
				return s.buf[:off], nil // the stream ends with the token
			}
			start, i = 0, off
		}
		switch c := s.buf[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c == '-', c == '+', c == '.', c == 'E':
		default:
			if i == start {
				return nil, s.syntax("found %q where a value was expected", c)
			}
			s.pos = i
			return s.buf[start:i], nil
		}
	}
}

// str reads a string. One without escapes is copied from the buffer as is;
// one with escapes is decoded by encoding/json.
func (s *scanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start, escaped := s.pos, false
	for i := s.pos; ; i++ {
		if i == s.end {
			off := i - start
			if !s.more(start) {
				return "", s.cut()
			}
			start, i = 0, off
		}
		switch s.buf[i] {
		case '\\':
			if i+1 == s.end { // read the escaped byte first, then look again
				off := i - start
				if !s.more(start) {
					return "", s.cut()
				}
				start, i = 0, off-1
				continue
			}
			escaped = true
			i++ // the escaped byte cannot end the string
		case '"':
			raw := s.buf[start:i]
			s.pos = i + 1
			if !escaped {
				return string(raw), nil
			}
			var out string
			quoted := append(append([]byte{'"'}, raw...), '"')
			if err := json.Unmarshal(quoted, &out); err != nil {
				return "", s.syntax("invalid string: %v", err)
			}
			return out, nil
		}
	}
}

// each reads the elements of an array, or the members of an object (then
// key is the member's name); null counts as empty.
func (s *scanner) each(open byte, fn func(key string) error) error {
	c, ok := s.peek()
	if !ok {
		return s.cut()
	}
	if c == 'n' {
		return s.literal("null")
	}
	if err := s.expect(open); err != nil {
		return err
	}
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	if c, ok := s.peek(); ok && c == closing {
		s.pos++
		return nil
	}
	for {
		var key string
		if open == '{' {
			var err error
			if key, err = s.str(); err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
		}
		if err := fn(key); err != nil {
			return err
		}
		c, ok := s.peek()
		switch {
		case !ok:
			return s.cut()
		case c == ',':
			s.pos++
		case c == closing:
			s.pos++
			return nil
		default:
			return s.syntax("found %q after a value", c)
		}
	}
}

func (s *scanner) literal(word string) error {
	tok, err := s.token()
	if err != nil {
		return err
	}
	if string(tok) != word {
		return s.syntax("found %q where %s was expected", tok, word)
	}
	return nil
}

// value reads any value as Go values: json.Number for numbers, string,
// bool, nil, []any and map[string]any.
func (s *scanner) value() (any, error) {
	c, ok := s.peek()
	if !ok {
		return nil, s.cut()
	}
	switch c {
	case '"':
		return s.str()
	case '[':
		list := []any{}
		err := s.each('[', func(string) error {
			v, err := s.value()
			list = append(list, v)
			return err
		})
		return list, err
	case '{':
		obj := map[string]any{}
		err := s.each('{', func(k string) error {
			v, err := s.value()
			obj[k] = v
			return err
		})
		return obj, err
	}
	tok, err := s.token()
	if err != nil {
		return nil, err
	}
	if v, ok := literalValue(tok); ok {
		return v, nil
	}
	if _, err := strconv.ParseFloat(bytesString(tok), 64); err != nil {
		return nil, s.syntax("invalid number %q", tok)
	}
	return json.Number(tok), nil
}

// literalValue is the Go value of the literals null, true and false.
func literalValue(tok []byte) (v any, ok bool) {
	switch string(tok) {
	case "null":
		return nil, true
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return nil, false
}

// skip reads a value and drops it.
func (s *scanner) skip() error {
	_, err := s.value()
	return err
}

// float reads a number or null (NaN); other values come back as any.
func (s *scanner) float() (x float64, other any, err error) {
	c, ok := s.peek()
	if !ok {
		return 0, nil, s.cut()
	}
	if c == '"' || c == '[' || c == '{' {
		v, err := s.value()
		return 0, v, err
	}
	tok, err := s.token()
	if err != nil {
		return 0, nil, err
	}
	if v, ok := literalValue(tok); ok {
		if v == nil {
			return nan, nil, nil
		}
		return 0, v, nil
	}
	x, err = strconv.ParseFloat(bytesString(tok), 64)
	if err != nil {
		return 0, nil, s.syntax("invalid number %q", tok)
	}
	return x, nil, nil
}

// integer reads an integer (a time in epoch nanoseconds).
func (s *scanner) integer() (int64, error) {
	c, ok := s.peek()
	if !ok {
		return 0, s.cut()
	}
	if c == '"' {
		v, _ := s.str()
		return 0, s.syntax("found the time %q, not a number", v)
	}
	tok, err := s.token()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(bytesString(tok), 10, 64)
	if err != nil {
		return 0, s.syntax("invalid time %q", tok)
	}
	return n, nil
}

// bytesString views b as a string without copying, for strconv's parsers,
// which keep nothing of it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
