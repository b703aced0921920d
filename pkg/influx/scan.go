package influx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

var nan = math.NaN()

// scanner reads JSON tokens from a stream through a fixed buffer that grows
// only for a token longer than it. Numbers are handed out as the bytes of
// the buffer (no copy), so that a float is parsed by strconv straight from
// the stream: InfluxDB writes floats in their shortest exact form, up to 17
// digits, which general JSON decoders parse through a string they build.
//
// Whoever sent the stream, reading it costs bounded stack and memory: arrays
// and objects nest at most maxDepth levels, a string is at most MaxString
// bytes and a number or literal maxToken, and what the answer leaves in
// memory is charged to its budget.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	// read is the number of bytes consumed before buf[0], for messages.
	read  int64
	err   error // the reader's error, io.EOF at the end
	depth int   // arrays and objects open around the position
	b     *budget
}

func newScanner(r io.Reader, size int, b *budget) *scanner {
	return &scanner{r: r, buf: make([]byte, size), b: b}
}

// maxDepth is the deepest nesting of arrays and objects read. InfluxDB's
// answers nest 7 deep (answer, results, result, series, series object,
// values, row); every level is a call, and a few MB of "[" would otherwise
// overflow the goroutine stack, which kills the plugin process.
const maxDepth = 64

// maxToken is the longest number or literal read: InfluxDB writes at most
// 24 characters for a number (20 for an int64, 17 digits of a float64 with
// sign and exponent); a longer one is refused, not accumulated.
const maxToken = 1024

// budget is what one answer may bring into memory: rows' values up to
// maxPoints (0: no bound), and strings up to maxStrings bytes.
type budget struct {
	maxPoints, points   int64
	maxStrings, strings int64
}

func newBudget(maxPoints int64) *budget {
	return &budget{maxPoints: maxPoints, maxStrings: MaxAnswerStrings}
}

// point charges n values of rows; past maxPoints the answer is refused as
// Max points refuses a query.
func (b *budget) point(n int64) error {
	b.points += n
	if b.maxPoints > 0 && b.points > b.maxPoints {
		return callback(&models.TooManyPointsError{MaxPoints: b.maxPoints,
			Hint: "narrow the query (a shorter time range, fewer series, or GROUP BY time)"})
	}
	return nil
}

// errAnswer is a body that is not JSON or, when beyond, an answer beyond
// what the scanner reads (limits above).
type errAnswer struct {
	at     int64
	msg    string
	beyond bool
}

func (e *errAnswer) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.at) }

func (s *scanner) limit(format string, args ...any) error {
	return &errAnswer{at: s.read + int64(s.pos), msg: fmt.Sprintf(format, args...), beyond: true}
}

// hold charges a string of n bytes the answer keeps in memory to its budget.
func (s *scanner) hold(n int) error {
	s.b.strings += int64(n) + stringOverhead
	if s.b.strings > s.b.maxStrings {
		return s.limit("strings and names of more than %d MiB in one answer", s.b.maxStrings>>20)
	}
	return nil
}

// element charges an element of an array or object nested in a row (no
// InfluxDB sends one): a value towards Max points, and its memory.
func (s *scanner) element(key string) error {
	if err := s.b.point(1); err != nil {
		return err
	}
	return s.hold(len(key) + elementOverhead)
}

// elementOverhead is what an element of a []any or map[string]any costs
// beyond a string: its interface value and its share of the container.
const elementOverhead = 48

// held reads a string that the answer keeps (a name, a tag, a value).
func (s *scanner) held() (string, error) {
	v, err := s.str()
	if err == nil {
		err = s.hold(len(v))
	}
	return v, err
}

func (s *scanner) syntax(format string, args ...any) error {
	return &errAnswer{at: s.read + int64(s.pos), msg: fmt.Sprintf(format, args...)}
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
			if i-start >= maxToken {
				s.pos = start
				return nil, s.limit("a number or literal longer than %d bytes", maxToken)
			}
		default:
			if i == start {
				return nil, s.syntax("found %q where a value was expected", c)
			}
			s.pos = i
			return s.buf[start:i], nil
		}
	}
}

// str reads a string of at most MaxString bytes. One without escapes is
// copied from the buffer, invalid UTF-8 replaced as encoding/json replaces
// it; one with escapes is decoded by encoding/json.
func (s *scanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start, escaped := s.pos, false
	for i := s.pos; ; i++ {
		if i == s.end {
			off := i - start
			if off > MaxString {
				return "", s.limit("a string longer than %d bytes", MaxString)
			}
			if !s.more(start) {
				return "", s.cut()
			}
			start, i = 0, off
		}
		switch c := s.buf[i]; c {
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
			if len(raw) > MaxString {
				return "", s.limit("a string longer than %d bytes", MaxString)
			}
			s.pos = i + 1
			if !escaped {
				return validUTF8(raw), nil
			}
			var out string
			quoted := append(append([]byte{'"'}, raw...), '"')
			if err := json.Unmarshal(quoted, &out); err != nil {
				return "", s.syntax("invalid string: %v", err)
			}
			return out, nil
		default:
			if c < 0x20 {
				s.pos = i
				return "", s.syntax("a control character (%#x) in a string", c)
			}
		}
	}
}

// validUTF8 is b as a string, each byte that is not part of valid UTF-8
// replaced with U+FFFD, as encoding/json decodes it.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
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
	if s.depth++; s.depth > maxDepth {
		return s.limit("arrays and objects nested deeper than %d levels", maxDepth)
	}
	err := s.items(open, fn)
	s.depth--
	return err
}

// items reads what follows an opening bracket or brace (each).
func (s *scanner) items(open byte, fn func(key string) error) error {
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
		return s.held()
	case '[':
		list := []any{}
		err := s.each('[', func(string) error {
			v, err := s.value()
			list = append(list, v)
			if err == nil {
				err = s.element("")
			}
			return err
		})
		return list, err
	case '{':
		obj := map[string]any{}
		err := s.each('{', func(k string) error {
			v, err := s.value()
			obj[k] = v
			if err == nil {
				err = s.element(k)
			}
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
	if _, err := s.number(tok); err != nil {
		return nil, err
	}
	return json.Number(tok), nil
}

// number parses a number as JSON has them (RFC 8259), which strconv alone
// would not check: it also reads nan, inf, hex floats, "+1" and "1_0".
// One beyond float64 (1e400) is refused, as encoding/json refuses it.
func (s *scanner) number(tok []byte) (float64, error) {
	if !isJSONNumber(tok) {
		return 0, s.syntax("invalid number %q", tok)
	}
	x, err := strconv.ParseFloat(bytesString(tok), 64)
	if err != nil {
		return 0, s.syntax("the number %s is beyond float64", tok)
	}
	return x, nil
}

// isJSONNumber: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(b []byte) bool {
	i := jsonIntegerEnd(b)
	if i < 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			return false
		}
	}
	return i == len(b)
}

// isJSONInteger: -?(0|[1-9][0-9]*), JSON's numbers without fraction or
// exponent (strconv.ParseInt also reads "+1" and "007").
func isJSONInteger(b []byte) bool {
	return jsonIntegerEnd(b) == len(b)
}

// jsonIntegerEnd is the index after b's leading -?(0|[1-9][0-9]*), or -1
// when b does not start with one.
func jsonIntegerEnd(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		return i + 1
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		return digits(b, i)
	}
	return -1
}

// digits is the index after the run of digits starting at i.
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
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

// skip reads a value and drops it, keeping nothing of it.
func (s *scanner) skip() error {
	c, ok := s.peek()
	if !ok {
		return s.cut()
	}
	switch c {
	case '"':
		_, err := s.str()
		return err
	case '[', '{':
		return s.each(c, func(string) error { return s.skip() })
	}
	tok, err := s.token()
	if err != nil {
		return err
	}
	if _, ok := literalValue(tok); ok {
		return nil
	}
	_, err = s.number(tok)
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
	x, err = s.number(tok)
	return x, nil, err
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
	if err != nil || !isJSONInteger(tok) {
		return 0, s.syntax("invalid time %q", tok)
	}
	return n, nil
}

// bytesString views b as a string without copying, for strconv's parsers,
// which keep nothing of it.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
