package alerteval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// evalMath evaluates a math expression over numbers: $A or ${A}, numeric
// literals, unary - and !, binary ** * / % + - < > <= >= == != && ||,
// parentheses and abs(). As Grafana's mathexp: comparisons and logic give
// 1 or 0, NaN in gives NaN out (except && and || short-circuiting on their
// left side), null in gives null out, NoData gives NoData. Two variables
// combine item by item where one's labels contain the other's (labels-less
// numbers combine with all); one item on each side always combine. Series are not supported.
func evalMath(expr string, results map[string]result) (result, error) {
	p := &parser{src: expr, results: results}
	p.next()
	r, err := p.binary(0)
	if err != nil {
		return result{}, fmt.Errorf("math %q: %w", expr, err)
	}
	if p.tok != "" {
		return result{}, fmt.Errorf("math %q: unexpected %q", expr, p.tok)
	}
	return r, nil
}

type parser struct {
	src     string
	pos     int
	tok     string
	results map[string]result
}

var binaryOps = [][]string{{"||"}, {"&&"}, {"==", "!="}, {"<", ">", "<=", ">="}, {"+", "-"}, {"*", "/", "%"}, {"**"}}

func (p *parser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	rest := p.src[p.pos:]
	for _, op := range []string{"**", "&&", "||", "==", "!=", "<=", ">="} {
		if strings.HasPrefix(rest, op) {
			p.tok, p.pos = op, p.pos+2
			return
		}
	}
	c := rest[0]
	switch {
	case strings.ContainsRune("+-*/%<>!()", rune(c)):
		p.tok, p.pos = string(c), p.pos+1
	case c == '$':
		end := 1
		if strings.HasPrefix(rest, "${") {
			end = strings.IndexByte(rest, '}') + 1
			if end == 0 {
				end = len(rest)
			}
		} else {
			for end < len(rest) && (unicode.IsLetter(rune(rest[end])) || unicode.IsDigit(rune(rest[end])) || rest[end] == '_') {
				end++
			}
		}
		p.tok, p.pos = rest[:end], p.pos+end
	default:
		end := 0
		for end < len(rest) && (unicode.IsLetter(rune(rest[end])) || unicode.IsDigit(rune(rest[end])) || strings.ContainsRune("._", rune(rest[end])) ||
			((rest[end] == '+' || rest[end] == '-') && end > 0 && (rest[end-1] == 'e' || rest[end-1] == 'E') && unicode.IsDigit(rune(rest[0])))) {
			end++
		}
		if end == 0 {
			end = 1
		}
		p.tok, p.pos = rest[:end], p.pos+end
	}
}

func (p *parser) binary(level int) (result, error) {
	if level == len(binaryOps) {
		return p.unary()
	}
	left, err := p.binary(level + 1)
	if err != nil {
		return result{}, err
	}
	for contains(binaryOps[level], p.tok) {
		op := p.tok
		p.next()
		right, err := p.binary(level + 1)
		if err != nil {
			return result{}, err
		}
		left = combine(left, right, op)
	}
	return left, nil
}

func contains(ops []string, tok string) bool {
	for _, o := range ops {
		if o == tok {
			return true
		}
	}
	return false
}

func (p *parser) unary() (result, error) {
	switch p.tok {
	case "-", "!":
		op := p.tok
		p.next()
		r, err := p.unary()
		if err != nil {
			return result{}, err
		}
		return mapNumbers(r, func(v float64) float64 {
			if op == "-" {
				return -v
			}
			if v == 0 {
				return 1
			}
			return 0
		}), nil
	case "(":
		p.next()
		r, err := p.binary(0)
		if err != nil {
			return result{}, err
		}
		if p.tok != ")" {
			return result{}, fmt.Errorf("missing )")
		}
		p.next()
		return r, nil
	case "":
		return result{}, fmt.Errorf("unexpected end")
	}
	tok := p.tok
	p.next()
	if strings.HasPrefix(tok, "$") {
		ref := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(tok, "$"), "{"), "}")
		r, ok := p.results[ref]
		if !ok {
			return result{}, fmt.Errorf("%w: %q", errNotYet, ref)
		}
		for _, it := range r.items {
			if it.isSeries() {
				return result{}, fmt.Errorf("$%s is a series: math over series is not supported here, reduce it first", ref)
			}
		}
		return r, nil
	}
	if tok == "abs" {
		if p.tok != "(" {
			return result{}, fmt.Errorf("abs needs (")
		}
		r, err := p.unary()
		if err != nil {
			return result{}, err
		}
		return mapNumbers(r, math.Abs), nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return result{}, fmt.Errorf("unexpected %q", tok)
	}
	return result{items: []item{{number: &f}}, noData: false}, nil
}

func mapNumbers(r result, fn func(float64) float64) result {
	out := result{noData: r.noData, items: make([]item, len(r.items))}
	for i, it := range r.items {
		out.items[i] = item{labels: it.labels}
		if it.number != nil {
			v := fn(*it.number)
			if math.IsNaN(*it.number) {
				v = math.NaN()
			}
			out.items[i].number = &v
		}
	}
	return out
}

// combine applies op to the matching items of a and b.
func combine(a, b result, op string) result {
	if a.noData {
		return a
	}
	if b.noData {
		return b
	}
	var out result
	pair := func(x, y item) {
		labels := x.labels
		if len(y.labels) > len(x.labels) {
			labels = y.labels
		}
		it := item{labels: labels}
		if x.number != nil && y.number != nil {
			v := binaryOp(op, *x.number, *y.number)
			it.number = &v
		}
		out.items = append(out.items, it)
	}
	for _, x := range a.items {
		for _, y := range b.items {
			if x.labels.Equals(y.labels) || x.labels.Contains(y.labels) || y.labels.Contains(x.labels) {
				pair(x, y)
			}
		}
	}
	// One item on each side combine whatever their labels.
	if len(out.items) == 0 && len(a.items) == 1 && len(b.items) == 1 {
		pair(a.items[0], b.items[0])
	}
	return out
}

func binaryOp(op string, a, b float64) float64 {
	// Short-circuit before NaN, as mathexp does.
	if op == "||" && a != 0 { // NaN != 0 too
		return 1
	}
	if op == "&&" && a == 0 {
		return 0
	}
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	bool01 := func(c bool) float64 {
		if c {
			return 1
		}
		return 0
	}
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		return a / b
	case "%":
		return math.Mod(a, b)
	case "**":
		return math.Pow(a, b)
	case "<":
		return bool01(a < b)
	case ">":
		return bool01(a > b)
	case "<=":
		return bool01(a <= b)
	case ">=":
		return bool01(a >= b)
	case "==":
		return bool01(a == b)
	case "!=":
		return bool01(a != b)
	case "&&":
		return bool01(a != 0 && b != 0)
	case "||":
		return bool01(a != 0 || b != 0)
	}
	return math.NaN()
}
