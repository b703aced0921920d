package influx

import (
	"fmt"
	"strings"
)

// Raw InfluxQL is refused before it is sent unless every statement only
// reads: SELECT without INTO, SHOW, or EXPLAIN [ANALYZE] [VERBOSE] SELECT
// (a plan, or the SELECT run and timed: still a read). InfluxDB 1.x runs
// whatever the data source's user may run, and sending by GET does not stop
// it (1.8 only adds a "deprecated use ... in a read only context" warning
// and executes the statement), so this check and a read-only InfluxDB user
// are what keep a raw query from writing.
//
// The lexer follows InfluxDB's own (influxql scanner and parser, the version
// 1.8 ships): strings and quoted identifiers with their escapes, -- and /* */
// comments, and regular expressions only where InfluxDB's parser reads one.
// A '/' is a regex there and a division anywhere else; where the two could be
// confused InfluxDB expects an operand, so a misread division is a parse
// error there and the whole query (InfluxDB parses every statement before it
// runs any) is refused by InfluxDB itself. Anything the lexer cannot read is
// refused here.

// Statement is one statement of a raw InfluxQL query.
type Statement struct {
	// Number counts statements from 1; Line and Char (from 1) are where it starts.
	Number, Line, Char int
	// Text is the statement as written, comments included.
	Text string
	// Keyword is its first word, upper case (SELECT, SHOW, DROP ...).
	Keyword string
	// Into tells that the statement has an INTO clause (it writes).
	Into bool
}

// ReadOnlyError is a raw query Vigil refuses to send; the message names the
// statement, where it starts and what it does.
type ReadOnlyError struct {
	Statement Statement
	Reason    string
}

func (e *ReadOnlyError) Error() string {
	s := e.Statement
	if s.Number == 0 {
		return e.Reason
	}
	return fmt.Sprintf("statement %d (line %d, char %d: %s) %s", s.Number, s.Line, s.Char, excerpt(s.Text), e.Reason)
}

// excerpt is a statement shortened to one line of at most 40 characters, quoted.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return "`" + s + "`"
}

// CheckReadOnlyInfluxQL refuses a raw InfluxQL query unless each of its
// statements only reads (see above); nil when every statement is a read.
func CheckReadOnlyInfluxQL(query string) error {
	stmts, err := SplitInfluxQL(query)
	if err != nil {
		return err
	}
	if len(stmts) == 0 {
		return &ReadOnlyError{Reason: "has no statement: write a SELECT or SHOW statement"}
	}
	for _, s := range stmts {
		if reason := notRead(s); reason != "" {
			return &ReadOnlyError{Statement: s, Reason: reason}
		}
	}
	return nil
}

func notRead(s Statement) string {
	switch {
	case s.Into:
		return "writes with INTO: Vigil sends only statements that read (SELECT without INTO, SHOW, EXPLAIN SELECT)"
	case s.Keyword == "SELECT" || s.Keyword == "SHOW" || s.Keyword == "EXPLAIN":
		return ""
	case s.Keyword == "":
		return "does not start with a keyword: Vigil sends only statements that read (SELECT, SHOW, EXPLAIN SELECT)"
	}
	return fmt.Sprintf("is %s, not a read: Vigil sends only SELECT (without INTO), SHOW and EXPLAIN SELECT statements", article(s.Keyword))
}

func article(kw string) string {
	if strings.ContainsRune("AEIOU", rune(kw[0])) {
		return "an " + kw
	}
	return "a " + kw
}

// token kinds of the InfluxQL lexer.
const (
	qlWord    = iota // a bare word: identifier or keyword
	qlIdent          // a quoted identifier, or a word glued to one (InfluxDB reads one identifier)
	qlOperand        // a number, duration, string or bound parameter
	qlRegex          // a regular expression
	qlComma          // ,
	qlLParen         // (
	qlRParen         // )
	qlDot            // .
	qlSemi           // ;
	qlRegexOp        // =~ !~
	qlEq             // =
	qlOther          // any other operator or character
)

type qlToken struct {
	kind int
	// word is a bare word in upper case (for qlIdent, the word glued before the quote).
	word string
	// keyword tells that the word stands alone, so InfluxDB may read it as a keyword.
	keyword    bool
	start, end int
}

// sourceState follows a FROM clause (and SHOW MEASUREMENTS WITH MEASUREMENT
// = ...), where InfluxDB reads a regex right after a '.' (db.rp./re/).
type sourceState int

const (
	srcNone  sourceState = iota
	srcStart             // a source is expected (after FROM or a comma between sources)
	srcIdent             // after an identifier segment of a source
	srcDot               // after the '.' between segments
	srcDone              // after a regex or a subquery
)

// qlLexer reads tokens as InfluxDB's scanner does, with the parser's
// choice between regex and division.
type qlLexer struct {
	src string
	pos int
	// sources has one state per open parenthesis (a subquery has its own FROM).
	sources []sourceState
	prev    qlToken
	hasPrev bool
	// space and comment tell what came between prev and the current position.
	space, comment bool
	// at is where the token (or comment) being read starts.
	at int
}

// SplitInfluxQL splits a raw InfluxQL query into its statements, reading
// strings, quoted identifiers, comments and regexes as InfluxDB does; empty
// statements (;;) are left out, as InfluxDB leaves them. It fails on text
// InfluxDB cannot read either: an unterminated string, identifier, comment
// or regex, a bad escape, a line break in a string, a NUL character.
func SplitInfluxQL(query string) ([]Statement, error) {
	if i := strings.IndexByte(query, 0); i >= 0 {
		return nil, lexError(query, 1, i, "a NUL character")
	}
	l := &qlLexer{src: query, sources: []sourceState{srcNone}}
	var out []Statement
	var cur *Statement
	var words []string // the statement's first words, for EXPLAIN
	start, end := 0, 0
	for {
		t, err := l.next()
		if err != nil {
			return nil, lexError(query, len(out)+1, l.at, err.Error())
		}
		if t == nil || t.kind == qlSemi {
			if cur != nil {
				cur.Text = query[start:end]
				if cur.Keyword == "EXPLAIN" && !explainsSelect(words[1:]) {
					cur.Keyword = strings.Join(words, " ")
				}
				out = append(out, *cur)
				cur, words = nil, nil
			}
			if t == nil {
				return out, nil
			}
			continue
		}
		if cur == nil {
			line, char := position(query, t.start)
			cur = &Statement{Number: len(out) + 1, Line: line, Char: char}
			if t.kind == qlWord {
				cur.Keyword = t.word
			}
			start = t.start
		}
		if (t.kind == qlWord || t.kind == qlIdent) && t.word == "INTO" {
			cur.Into = true
		}
		if t.kind == qlWord && len(words) < 4 {
			words = append(words, t.word)
		}
		end = t.end
	}
}

// explainsSelect tells that the words after EXPLAIN are [ANALYZE] [VERBOSE] SELECT.
func explainsSelect(words []string) bool {
	for _, opt := range []string{"ANALYZE", "VERBOSE"} {
		if len(words) > 0 && words[0] == opt {
			words = words[1:]
		}
	}
	return len(words) > 0 && words[0] == "SELECT"
}

func lexError(query string, number, at int, what string) error {
	line, char := position(query, at)
	return &ReadOnlyError{Reason: fmt.Sprintf("statement %d: %s at line %d, char %d: InfluxDB cannot read it either", number, what, line, char)}
}

// position is the line and character (both from 1) of byte offset i, counted
// as InfluxDB counts them (\r and \r\n are one line break).
func position(s string, i int) (line, char int) {
	line, char = 1, 1
	for j := 0; j < i && j < len(s); j++ {
		switch {
		case s[j] == '\r' && j+1 < len(s) && s[j+1] == '\n':
		case s[j] == '\n' || s[j] == '\r':
			line, char = line+1, 1
		case s[j]&0xC0 != 0x80: // count runes, not UTF-8 continuation bytes
			char++
		}
	}
	return line, char
}

// regexHere tells whether InfluxDB's parser reads a regex at the current
// '/': where it expects a field (after SELECT or a comma), a source (after
// FROM, a comma, WITH MEASUREMENT =, or right after the '.' of db.rp.), a
// dimension (after BY), a function argument (after '(' or a comma), or the
// right side of =~ and !~. It peeks past whitespace but not past a comment.
func (l *qlLexer) regexHere() bool {
	if !l.hasPrev || l.comment {
		return false
	}
	switch l.prev.kind {
	case qlComma, qlLParen, qlRegexOp:
		return true
	case qlWord:
		return l.prev.keyword && (l.prev.word == "SELECT" || l.prev.word == "FROM" || l.prev.word == "BY")
	case qlDot:
		return l.source() == srcDot && !l.space
	case qlEq:
		return l.source() == srcStart
	}
	return false
}

func (l *qlLexer) source() sourceState { return l.sources[len(l.sources)-1] }

// follow updates the FROM-clause state after token t.
func (l *qlLexer) follow(t qlToken) {
	top := &l.sources[len(l.sources)-1]
	state := *top
	switch {
	case t.kind == qlWord && t.keyword && t.word == "FROM":
		*top = srcStart
	case t.kind == qlWord, t.kind == qlIdent: // a keyword here is InfluxDB's parse error
		*top = srcNone
		if state == srcStart || state == srcDot {
			*top = srcIdent
		}
	case t.kind == qlDot:
		*top = srcNone
		if state == srcIdent || state == srcDot {
			*top = srcDot
		}
	case t.kind == qlComma:
		*top = srcNone
		if state == srcIdent || state == srcDone {
			*top = srcStart
		}
	case t.kind == qlRegex:
		*top = srcNone
		if state == srcStart || state == srcDot {
			*top = srcDone
		}
	case t.kind == qlLParen:
		if state == srcStart { // a subquery
			*top = srcDone
		}
		l.sources = append(l.sources, srcNone)
	case t.kind == qlRParen:
		if len(l.sources) > 1 {
			l.sources = l.sources[:len(l.sources)-1]
		}
	case t.kind == qlEq || t.kind == qlRegexOp:
		*top = srcNone
		if l.hasPrev && l.prev.kind == qlWord && l.prev.keyword && l.prev.word == "MEASUREMENT" {
			*top = srcStart // SHOW MEASUREMENTS WITH MEASUREMENT = source
		}
	case t.kind == qlSemi:
		l.sources = l.sources[:1]
		l.sources[0] = srcNone
	default:
		*top = srcNone
	}
}

// next reads the next token; nil at the end of the query.
func (l *qlLexer) next() (*qlToken, error) {
	l.space, l.comment = false, false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.at = l.pos
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
			l.space = true
			continue
		case c == '-' && l.peek(1) == '-':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
			l.comment = true
			continue
		case c == '/' && l.peek(1) == '*' && !l.regexHere():
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("an unterminated /* comment")
			}
			l.pos += 2 + end + 2
			l.comment = true
			continue
		}
		t := qlToken{start: l.pos}
		if err := l.scan(&t); err != nil {
			return nil, err
		}
		t.end = l.pos
		l.follow(t)
		l.prev, l.hasPrev = t, true
		return &t, nil
	}
	return nil, nil
}

func (l *qlLexer) peek(n int) byte {
	if l.pos+n < len(l.src) {
		return l.src[l.pos+n]
	}
	return 0
}

// scan reads one token at l.pos into t.
func (l *qlLexer) scan(t *qlToken) error {
	c := l.src[l.pos]
	t.kind = qlOther // unless one of these says otherwise: one character
	switch {
	case isQLLetter(c) || c == '_':
		t.kind, t.keyword = qlWord, true
		t.word = strings.ToUpper(l.bare())
		if l.peek(0) == '"' { // InfluxDB reads word"quoted" as one identifier
			t.kind, t.keyword = qlIdent, false
			return l.quoted('"', "identifier")
		}
		return nil
	case isQLDigit(c) || c == '.' && isQLDigit(l.peek(1)):
		t.kind = qlOperand
		l.number()
		return nil
	case c == '"':
		t.kind = qlIdent
		return l.quoted('"', "identifier")
	case c == '\'':
		t.kind = qlOperand
		return l.quoted('\'', "string")
	case c == '/':
		if l.regexHere() {
			t.kind = qlRegex
			return l.regex()
		}
	case c == '$': // a bound parameter: $name or $"name"
		t.kind = qlOperand
		l.pos++
		l.bare()
		if l.peek(0) == '"' {
			return l.quoted('"', "identifier")
		}
		return nil
	case c == ',':
		t.kind = qlComma
	case c == '(':
		t.kind = qlLParen
	case c == ')':
		t.kind = qlRParen
	case c == '.':
		t.kind = qlDot
	case c == ';':
		t.kind = qlSemi
	case c == '=' || c == '!':
		switch {
		case l.peek(1) == '~':
			t.kind = qlRegexOp
			l.pos += 2
			return nil
		case c == '=':
			t.kind = qlEq
		case l.peek(1) == '=':
			l.pos++
		}
	case c == '<' && (l.peek(1) == '=' || l.peek(1) == '>'), c == '>' && l.peek(1) == '=', c == ':' && l.peek(1) == ':':
		l.pos++
	}
	l.pos++
	return nil
}

func isQLLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isQLDigit(c byte) bool  { return c >= '0' && c <= '9' }

// bare reads letters, digits and underscores.
func (l *qlLexer) bare() string {
	start := l.pos
	for l.pos < len(l.src) && (isQLLetter(l.src[l.pos]) || isQLDigit(l.src[l.pos]) || l.src[l.pos] == '_') {
		l.pos++
	}
	return l.src[start:l.pos]
}

// number reads digits, a decimal part and a duration's unit letters, as
// InfluxDB's scanNumber does (it keeps the '.' of "1." too).
func (l *qlLexer) number() {
	for l.pos < len(l.src) && isQLDigit(l.src[l.pos]) {
		l.pos++
	}
	if l.peek(0) == '.' {
		l.pos++
		for l.pos < len(l.src) && isQLDigit(l.src[l.pos]) {
			l.pos++
		}
		return
	}
	if isQLLetter(l.peek(0)) {
		l.bare()
	}
}

// quoted reads a string or quoted identifier: escapes are \n \\ \" and \'
// only, and a line break ends it badly, as in InfluxDB's ScanString.
func (l *qlLexer) quoted(q byte, what string) error {
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == q:
			l.pos++
			return nil
		case c == '\n' || c == '\r':
			return fmt.Errorf("a line break in a quoted %s", what)
		case c == '\\':
			switch l.peek(1) {
			case 'n', '\\', '"', '\'':
				l.pos += 2
				continue
			}
			return fmt.Errorf("a bad escape in a quoted %s", what)
		}
		l.pos++
	}
	return fmt.Errorf("an unterminated quoted %s", what)
}

// regex reads /.../ as InfluxDB's ScanRegex does: \/ is an escaped slash,
// any other backslash stands for itself, and a line break ends it badly.
func (l *qlLexer) regex() error {
	l.pos++
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == '/':
			l.pos++
			return nil
		case c == '\n' || c == '\r':
			return fmt.Errorf("a line break in a regex")
		case c == '\\' && l.peek(1) == '/':
			l.pos += 2
			continue
		}
		l.pos++
	}
	return fmt.Errorf("an unterminated regex")
}
