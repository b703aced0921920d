package influx

import (
	"fmt"
	"regexp"
	"strings"
)

// A raw Flux script is refused before it is sent when it can write or send
// data out of InfluxDB: a call to (or any use of) to() and wideTo(), any
// X.to / X.wideTo (experimental.to, influxdb.to, influxdb.wideTo, ...), and
// an import of a package whose functions write, reach other hosts or read
// secrets (http, sql, kafka, mqtt, slack, pagerduty, secrets, monitor,
// contrib/... and the like). This is a guard against mistakes and casual
// misuse only: Flux is a full language, so a read-only token (or a 1.x user
// with only READ grants) is what really keeps a raw script from writing.
//
// The lexer follows Flux's scanner (v0.65, the one InfluxDB 1.8 ships):
// strings with escapes and ${...} interpolation (read as code), // comments,
// and regexes wherever an operand is expected, as Flux's parser reads them.

// FluxError is a raw Flux script Vigil refuses to send.
type FluxError struct {
	Line, Char int
	// Name is the function or package that writes.
	Name   string
	Reason string
}

func (e *FluxError) Error() string {
	if e.Line == 0 {
		return e.Reason
	}
	return fmt.Sprintf("line %d, char %d: %s %s", e.Line, e.Char, e.Name, e.Reason)
}

const fluxReadOnly = "Vigil runs only Flux that reads (give the data source a read-only token)"

// fluxWriters are the packages whose functions write, send data to other
// hosts, or read secrets; contrib/... packages are all refused (most are
// notification endpoints).
var fluxWriters = map[string]string{
	"http":                        "http.post and http.endpoint send data out",
	"http/requests":               "requests sends HTTP requests",
	"experimental/http":           "http.get sends HTTP requests",
	"experimental/http/requests":  "requests sends HTTP requests",
	"experimental/csv":            "csv.from fetches URLs",
	"experimental/prometheus":     "prometheus.scrape fetches URLs",
	"experimental/bigtable":       "bigtable reaches another host",
	"experimental/influxdb":       "influxdb.api calls the InfluxDB API (any method)",
	"experimental/usage":          "usage calls the InfluxDB API",
	"experimental/mqtt":           "mqtt.to publishes",
	"mqtt":                        "mqtt.to publishes",
	"kafka":                       "kafka.to writes to Kafka",
	"sql":                         "sql.to writes and sql.from runs any SQL",
	"socket":                      "socket.from reaches another host",
	"slack":                       "slack.message sends data out",
	"pagerduty":                   "pagerduty.sendEvent sends data out",
	"influxdata/influxdb/secrets": "secrets.get reads secrets",
	"influxdata/influxdb/monitor": "monitor.check and monitor.notify write",
}

// fluxKeywords are Flux's keywords: after one, an operand is expected.
var fluxKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "empty": true, "in": true, "import": true, "package": true,
	"return": true, "option": true, "builtin": true, "test": true, "testcase": true,
	"if": true, "then": true, "else": true, "exists": true,
}

// token kinds of the Flux lexer.
const (
	fxIdent   = iota
	fxKeyword // a keyword
	fxLiteral // a number, duration, time, string or regex
	fxPunct   // an operator or punctuation; text holds it
)

type fxToken struct {
	kind  int
	text  string // the identifier, keyword, punctuation, or a string's raw content
	start int
}

// CheckReadOnlyFlux refuses a Flux script that can write or send data out
// (see above); nil otherwise.
func CheckReadOnlyFlux(script string) error {
	toks, err := lexFlux(script)
	if err != nil {
		return err
	}
	at := func(t fxToken, name, reason string) error {
		line, char := position(script, t.start)
		return &FluxError{Line: line, Char: char, Name: name, Reason: reason}
	}
	for i, t := range toks {
		switch {
		case t.kind == fxKeyword && t.text == "import":
			j := i + 1
			if j < len(toks) && toks[j].kind == fxIdent {
				j++ // an alias
			}
			if j >= len(toks) || toks[j].kind != fxLiteral || !strings.HasPrefix(script[toks[j].start:], `"`) {
				continue // not an import Flux accepts either
			}
			path := toks[j].text
			if strings.ContainsAny(path, `\$`) {
				return at(toks[j], fmt.Sprintf("import %q", path), "has escapes or interpolation: write the package path plainly")
			}
			if why, ok := fluxWriters[path]; ok || strings.HasPrefix(path, "contrib/") {
				if !ok {
					why = "contrib packages are mostly notification endpoints that send data out"
				}
				return at(t, fmt.Sprintf("import %q", path), fmt.Sprintf("is refused (%s): %s", why, fluxReadOnly))
			}
		case t.kind == fxIdent && (t.text == "to" || t.text == "wideTo"):
			member := i > 0 && toks[i-1].kind == fxPunct && toks[i-1].text == "."
			label := i+1 < len(toks) && toks[i+1].kind == fxPunct && toks[i+1].text == ":"
			switch {
			case member:
				name := "." + t.text
				if i > 1 && toks[i-2].kind == fxIdent {
					name = toks[i-2].text + name
				}
				return at(t, name+"()", "writes: "+fluxReadOnly+`; read a column named "`+t.text+`" as r["`+t.text+`"]`)
			case !label:
				return at(t, t.text+"()", "writes to InfluxDB: "+fluxReadOnly)
			}
		}
	}
	return nil
}

// fxLexer reads Flux tokens; interpolations inside strings are read as code.
type fxLexer struct {
	src  string
	pos  int
	toks []fxToken
}

func lexFlux(src string) ([]fxToken, error) {
	l := &fxLexer{src: src}
	if err := l.code(false); err != nil {
		line, char := position(src, l.pos)
		return nil, &FluxError{Reason: fmt.Sprintf("%s at line %d, char %d: Flux cannot read it either", err, line, char)}
	}
	return l.toks, nil
}

func (l *fxLexer) emit(kind int, text string, start int) {
	l.toks = append(l.toks, fxToken{kind: kind, text: text, start: start})
}

func (l *fxLexer) peek(n int) byte {
	if l.pos+n < len(l.src) {
		return l.src[l.pos+n]
	}
	return 0
}

// code reads Flux code to the end, or (interpolation) to the '}' that
// closes a ${...}.
func (l *fxLexer) code(interpolation bool) error {
	depth := 0
	operandEnd := false // the last token ends an operand: a '/' there divides
	for l.pos < len(l.src) {
		c, start := l.src[l.pos], l.pos
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			l.pos++
			continue
		case c == '/' && l.peek(1) == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
			continue
		case c == '/' && !operandEnd:
			if end := l.regexEnd(); end > 0 {
				l.pos = end
				l.emit(fxLiteral, "", start)
				operandEnd = true
				continue
			}
			l.pos++
			l.emit(fxPunct, "/", start)
			operandEnd = false
		case c == '"':
			if err := l.str(); err != nil {
				return err
			}
			operandEnd = true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			for l.pos < len(l.src) && isFluxWordByte(l.src[l.pos]) {
				l.pos++
			}
			word := l.src[start:l.pos]
			operandEnd = !fluxKeywords[word]
			if operandEnd {
				l.emit(fxIdent, word, start)
			} else {
				l.emit(fxKeyword, word, start)
			}
		case c >= '0' && c <= '9' || c == '.' && l.peek(1) >= '0' && l.peek(1) <= '9':
			// A number, duration or time ends where Flux's does: in "0to"
			// the identifier to follows the number 0.
			l.pos += fluxNumber.FindStringIndex(l.src[l.pos:])[1]
			l.emit(fxLiteral, "", start)
			operandEnd = true
		case c == '}' && interpolation && depth == 0:
			l.pos++
			l.emit(fxPunct, "}", start)
			return nil
		default:
			op := string(c)
			if two := l.src[l.pos:min(l.pos+2, len(l.src))]; len(two) == 2 && strings.Contains(" |> => <- == != <= >= =~ !~ ", " "+two+" ") {
				op = two
			}
			l.pos += len(op)
			l.emit(fxPunct, op, start)
			switch op {
			case "{":
				depth++
			case "}":
				depth--
			}
			// A closing bracket and <- (a pipe literal) end an operand.
			operandEnd = op == ")" || op == "]" || op == "}" || op == "<-"
		}
	}
	if interpolation {
		return fmt.Errorf("an unterminated ${ in a string")
	}
	return nil
}

// fluxNumber matches Flux's integer, float, duration and date-time literals
// at the start of a text, the longest first, as Flux's scanner does.
var fluxNumber = func() *regexp.Regexp {
	integer := `(?:0|[1-9][0-9]*)`
	unit := `(?:y|mo|w|d|h|m|s|ms|us|µs|ns)`
	re := regexp.MustCompile(`^(?:` +
		`[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?` +
		`|[0-9]+\.[0-9]*|\.[0-9]+` +
		`|(?:` + integer + unit + `)+` +
		`|` + integer + `)`)
	re.Longest()
	return re
}()

func isFluxWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// regexEnd is the end (past the closing '/') of the regex starting at
// l.pos, as Flux's scanner reads one (the longest match: up to the first
// '/' without a backslash before it, else the last slash that has one), or
// 0 when none starts here (the '/' is then a division).
func (l *fxLexer) regexEnd() int {
	end := 0
	for j := l.pos + 2; j < len(l.src); j++ { // the body has at least one character
		if l.src[j] != '/' {
			continue
		}
		end = j + 1
		if l.src[j-1] != '\\' {
			return end
		}
	}
	return end
}

// str reads a string, its ${...} interpolations as code.
func (l *fxLexer) str() error {
	start := l.pos
	l.emit(fxLiteral, "", start)
	lit := len(l.toks) - 1
	l.pos++
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == '"':
			l.pos++
			l.toks[lit].text = l.src[start+1 : l.pos-1]
			return nil
		case c == '\\':
			l.pos += 2
		case c == '$' && l.peek(1) == '{':
			l.emit(fxPunct, "${", l.pos)
			l.pos += 2
			if err := l.code(true); err != nil {
				return err
			}
		default:
			l.pos++
		}
	}
	l.pos = start
	return fmt.Errorf("an unterminated string")
}
