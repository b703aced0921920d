package influx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// batches decodes body with the numeric sink and renders every row as
// "tags|time|v1 v2 ...", values printed with %v (NaN for null).
func batches(body string, r io.Reader) ([]string, error) {
	if r == nil {
		r = strings.NewReader(body)
	}
	var out []string
	err := decodeAnswer(r, "http://influx", 0, func(h header) rowSink {
		return newNumericSink(h, func(b Batch) error {
			for j, t := range b.Times {
				vals := make([]string, b.Width)
				for c := range vals {
					vals[c] = fmt.Sprint(b.Value(j, c))
				}
				out = append(out, fmt.Sprintf("%v|%d|%s", b.Tags, t, strings.Join(vals, " ")))
			}
			return nil
		}, notNumeric)
	})
	return out, err
}

func TestDecodeNumeric(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"one object", `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,2.5,null],[2,-3e-7,4]]}]}]}`,
			[]string{"map[]|1|2.5 NaN", "map[]|2|-3e-07 4"}},
		{"chunks, a series split over two, tags with empty values dropped",
			`{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"p":"x","q":""},"columns":["time","a"],"values":[[1,1]],"partial":true}],"partial":true}]}
{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"p":"x","q":""},"columns":["time","a"],"values":[[2,2]]},{"name":"m","tags":{"p":"y,z=1","q":"w"},"columns":["time","a"],"values":[[3,3]]}]}]}
`,
			[]string{"map[p:x]|1|1", "map[p:x]|2|2", "map[p:y,z=1 q:w]|3|3"}},
		{"values before columns", `{"results":[{"series":[{"values":[[5,1.25]],"columns":["time","a"],"name":"m"}]}]}`,
			[]string{"map[]|5|1.25"}},
		{"escapes in names and tags", `{"results":[{"series":[{"name":"m\"1","tags":{"p\\q":"a\"b\u00e9\/\n"},"columns":["time","v"],"values":[[1,1E3],[2,-0.5e-2]]}]}]}`,
			[]string{"map[p\\q:a\"bé/\n]|1|1000", "map[p\\q:a\"bé/\n]|2|-0.005"}},
		{"no series", `{"results":[{"statement_id":0}]}`, nil},
		{"empty body", ``, nil},
		{"unknown keys skipped", `{"results":[{"statement_id":0,"messages":[{"level":"warning","text":"x"}],"series":[{"name":"m","columns":["time","a"],"values":[[1,7]],"extra":{"k":[1,2]}}]}]}`,
			[]string{"map[]|1|7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time as well: every token may straddle a read.
			for _, r := range []io.Reader{nil, iotest.OneByteReader(strings.NewReader(tc.body))} {
				got, err := batches(tc.body, r)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			}
		})
	}
}

// TestDecodeFloatsExactly: every value is the float64 strconv.ParseFloat
// reads from the same text (the shortest representations InfluxDB writes,
// 17 significant digits, exponents, integers beyond 2^53).
func TestDecodeFloatsExactly(t *testing.T) {
	texts := []string{"220.12345678901234", "0.1", "89.99999999999999", "1e-300", "4.9e-324", "1.7976931348623157e308",
		"9007199254740993", "123456789012345678", "-0.0", "70.30000000000001", "2.2250738585072014e-308"}
	x := 0.1
	for i := 0; i < 2000; i++ { // pseudo-random doubles of every magnitude
		x = math.Mod(x*7919.123+0.77, 1)
		texts = append(texts, strconv.FormatFloat(x*math.Pow(10, float64(i%40-20)), 'g', -1, 64))
	}
	var rows []string
	for i, s := range texts {
		rows = append(rows, fmt.Sprintf("[%d,%s]", i, s))
	}
	body := `{"results":[{"series":[{"name":"m","columns":["time","v"],"values":[` + strings.Join(rows, ",") + `]}]}]}`
	got := map[int64]float64{}
	err := decodeAnswer(strings.NewReader(body), "u", 0, func(h header) rowSink {
		return newNumericSink(h, func(b Batch) error {
			for j, ts := range b.Times {
				got[ts] = b.Value(j, 0)
			}
			return nil
		}, notNumeric)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		want, _ := strconv.ParseFloat(s, 64)
		if math.Float64bits(got[int64(i)]) != math.Float64bits(want) {
			t.Errorf("%s: decoded %v, want %v", s, got[int64(i)], want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		kind             Kind
	}{
		{"statement error", `{"results":[{"statement_id":0,"error":"database not found: x"}]}`, "database not found: x", KindNotFound},
		{"answer error", `{"error":"error parsing query: found EOF"}`, "error parsing query", KindBadQuery},
		{"cut short", `{"results":[{"series":[{"name":"m","columns":["time","a"],"values":[[1,2],[3,`, "ended its answer early", KindUnavailable},
		{"not JSON", `<html>proxy error</html>`, "not InfluxQL JSON", KindUnavailable},
		{"a bare array", `[1,2]`, "not InfluxQL JSON", KindUnavailable},
		{"time not a number", `{"results":[{"series":[{"columns":["time","a"],"values":[["2016-01-01T00:00:00Z",1]]}]}]}`, "not InfluxQL JSON", KindUnavailable},
		{"row too long", `{"results":[{"series":[{"columns":["time","a"],"values":[[1,2,3]]}]}]}`, "not InfluxQL JSON", KindUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := batches(tc.body, nil)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("got %v (%#v), want kind %d with %q", err, err, tc.kind, tc.want)
			}
		})
	}
}

// TestDecodeCallbackErrors: an error of the caller's comes back as it was,
// and a string where a number belongs names its column.
func TestDecodeCallbackErrors(t *testing.T) {
	mine := errors.New("mine")
	err := decodeAnswer(strings.NewReader(`{"results":[{"series":[{"columns":["time","a"],"values":[[1,2]]}]}]}`), "u", 0,
		func(h header) rowSink { return newNumericSink(h, func(Batch) error { return mine }, notNumeric) })
	if err != mine {
		t.Fatalf("got %v, want the callback's own error", err)
	}
	_, err = batches(`{"results":[{"series":[{"columns":["time","state"],"values":[[1,"on"]]}]}]}`, nil)
	var nn *NotNumericError
	if !errors.As(err, &nn) || nn.Column != "state" || nn.Value != "on" {
		t.Fatalf("got %v, want a NotNumericError for column state", err)
	}
}

// TestDecodeGeneric: the raw path keeps numbers as json.Number, and strings,
// booleans and nulls as they are, chunk by chunk.
func TestDecodeGeneric(t *testing.T) {
	body := `{"results":[{"series":[{"name":"m","tags":{"t":"a"},"columns":["time","n","s","b"],"values":[[1,1.5,"x",true],[2,null,"y",false]]}]}]}`
	var got []Series
	err := decodeAnswer(strings.NewReader(body), "u", 0, func(h header) rowSink {
		return &genericSink{h: h, fn: func(s Series) error { got = append(got, s); return nil }}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{m map[t:a] [time n s b] [[1 1.5 x true] [2 <nil> y false]]}]`
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if n, ok := Number(got[0].Values[0][1]); !ok || n != 1.5 {
		t.Fatalf("number %v not a json.Number", got[0].Values[0][1])
	}
}

// BenchmarkDecodePoints: a day of 1 Hz, 3-field points as InfluxDB 1.8 sends
// them (chunked JSON), decoded into Batches.
func BenchmarkDecodePoints(b *testing.B) {
	var sb strings.Builder
	for chunk := 0; chunk < 9; chunk++ {
		sb.WriteString(`{"results":[{"statement_id":0,"series":[{"name":"temperatures","columns":["time","hotend","bed","air"],"values":[`)
		for i := 0; i < 9600; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			ts := int64(1451606400+chunk*9600+i) * 1e9
			fmt.Fprintf(&sb, "[%d,%v,%v,%v]", ts, 220+math.Sin(float64(i))/3, 90+math.Cos(float64(i)), 70.25+float64(i%97)/31)
		}
		sb.WriteString("]}]}]}\n")
	}
	body := sb.String()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := decodeAnswer(strings.NewReader(body), "u", 0, func(h header) rowSink {
			return newNumericSink(h, func(bt Batch) error { n += len(bt.Values); return nil }, notNumeric)
		})
		if err != nil || n != 3*9*9600 {
			b.Fatal(err, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(3*9*9600), "ns/value")
}

// generic decodes body with the raw path's sink, values bounded by maxPoints.
func generic(r io.Reader, maxPoints int64) ([]Series, error) {
	var out []Series
	err := decodeAnswer(r, "http://influx", maxPoints, func(h header) rowSink {
		return &genericSink{h: h, fn: func(s Series) error { out = append(out, s); return nil }}
	})
	return out, err
}

// numeric decodes r with the numeric sink, values bounded by maxPoints.
func numeric(r io.Reader, maxPoints int64) error {
	return decodeAnswer(r, "http://influx", maxPoints, func(h header) rowSink {
		return newNumericSink(h, func(Batch) error { return nil }, notNumeric)
	})
}

// series is an answer of one series with columns time and a and the rows given.
func series(rows string) string {
	return `{"results":[{"series":[{"name":"m","columns":["time","a"],"values":[` + rows + `]}]}]}`
}

// TestDecodeHostile: answers no InfluxDB sends, each a classified error of
// its own (never a crash, never unbounded memory), through both sinks.
func TestDecodeHostile(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	huge := strings.Repeat("x", MaxString+1)
	for _, tc := range []struct {
		name, body, want string
	}{
		// 8 MB of "[": without the depth limit the goroutine stack overflows
		// (fatal error: stack overflow, the test binary dies).
		{"deep nesting, skipped", `{"x":` + strings.Repeat("[", 8<<20), "nested deeper than 64 levels"},
		{"deep nesting in a row", series(`[1,` + strings.Repeat("[", 8<<20)), "nested deeper than 64 levels"},
		{"one level too deep", `{"x":` + deep(maxDepth) + `}`, "nested deeper than 64 levels"},
		{"deep objects", `{"x":` + strings.Repeat(`{"a":`, 1<<20), "nested deeper than 64 levels"},
		{"a huge skipped string", `{"x":"` + huge + `"}`, "a string longer than 1048576 bytes"},
		{"a huge name", `{"results":[{"series":[{"name":"` + huge + `"}]}]}`, "a string longer than 1048576 bytes"},
		{"a huge tag key", `{"results":[{"series":[{"tags":{"` + huge + `":"a"}}]}]}`, "a string longer than 1048576 bytes"},
		{"a huge column", `{"results":[{"series":[{"columns":["time","` + huge + `"]}]}]}`, "a string longer than 1048576 bytes"},
		{"a huge value", series(`[1,"` + huge + `"]`), "a string longer than 1048576 bytes"},
		{"a huge number", series(`[1,1` + strings.Repeat("0", 4096) + `]`), "longer than 1024 bytes"},
		{"a huge time", series(`[1` + strings.Repeat("0", 4096) + `,1]`), "longer than 1024 bytes"},
		{"a control character", `{"results":[{"series":[{"name":"a` + "\x01" + `b"}]}]}`, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"numeric", "generic"} {
				var err error
				if path == "numeric" {
					err = numeric(strings.NewReader(tc.body), 0)
				} else {
					_, err = generic(strings.NewReader(tc.body), 0)
				}
				var e *Error
				if !errors.As(err, &e) || e.Kind != KindUnavailable || !strings.Contains(e.Message, tc.want) {
					t.Fatalf("%s: got %v, want an *Error saying %q", path, err, tc.want)
				}
				if len(e.Message) > 500 {
					t.Fatalf("%s: a message of %d bytes: it must not quote the answer", path, len(e.Message))
				}
			}
		})
	}
}

// TestDecodeDepthLimit: the deepest nesting read is maxDepth levels.
func TestDecodeDepthLimit(t *testing.T) {
	nested := func(levels int) string { // levels in all, the answer object included
		return `{"x":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	if _, err := generic(strings.NewReader(nested(maxDepth)), 0); err != nil {
		t.Fatalf("%d levels: %v", maxDepth, err)
	}
	if _, err := generic(strings.NewReader(nested(maxDepth+1)), 0); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("%d levels: %v, want the depth error", maxDepth+1, err)
	}
}

// TestDecodeNumberGrammar: numbers as RFC 8259 has them, whatever
// strconv.ParseFloat reads besides, and nothing beyond float64.
func TestDecodeNumberGrammar(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string // the value read, or the error
	}{
		{"0", "0"}, {"-0", "-0"}, {"1.5", "1.5"}, {"-12.25e-1", "-1.225"}, {"1E+2", "100"}, {"1e-2", "0.01"},
		{"2.5E02", "250"}, {"1e-400", "0"}, // underflow: the nearest float64, as encoding/json reads it
		{"nan", "invalid number"}, {"NaN", "where a value was expected"}, {"inf", "invalid number"}, {"-inf", "invalid number"},
		{"infinity", "invalid number"}, {"0x1p-2", "invalid number"}, {"0x10", "invalid number"}, {"+1", "invalid number"},
		{"01", "invalid number"}, {"1.", "invalid number"}, {".5", "invalid number"}, {"1e", "invalid number"},
		{"1e+", "invalid number"}, {"-", "invalid number"}, {"1.5.5", "invalid number"}, {"1ee2", "invalid number"},
		{"1e400", "the number 1e400 is beyond float64"}, {"-1e400", "the number -1e400 is beyond float64"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			body := series(`[1,` + tc.text + `]`)
			got, err := batches(body, nil)
			_, gerr := generic(strings.NewReader(body), 0)
			var x float64
			jerr := json.Unmarshal([]byte(tc.text), &x)
			if !strings.ContainsAny(tc.want[:1], "0123456789-") {
				if err == nil || !strings.Contains(err.Error(), tc.want) || gerr == nil || !strings.Contains(gerr.Error(), tc.want) {
					t.Fatalf("numeric %v, generic %v; want %q", err, gerr, tc.want)
				}
				if jerr == nil {
					t.Fatalf("encoding/json reads %s: the test is wrong", tc.text)
				}
				return
			}
			if err != nil || gerr != nil || jerr != nil {
				t.Fatalf("numeric %v, generic %v, encoding/json %v", err, gerr, jerr)
			}
			if want := "map[]|1|" + tc.want; len(got) != 1 || got[0] != want {
				t.Fatalf("got %v, want %s", got, want)
			}
		})
	}
	for _, ts := range []string{"+5", "007", "-", "1.0", "1e3"} {
		if _, err := batches(series(`[`+ts+`,1]`), nil); err == nil || !strings.Contains(err.Error(), "invalid time") {
			t.Errorf("time %s: got %v, want invalid time", ts, err)
		}
	}
}

// endless is a reader that sends head and then repeats body forever.
type endless struct {
	head, body string
	sent       int64
	pending    string
}

func (e *endless) Read(p []byte) (int, error) {
	if e.pending == "" {
		e.pending = e.body
		if e.sent == 0 && e.head != "" {
			e.pending = e.head
		}
	}
	n := copy(p, e.pending)
	e.pending = e.pending[n:]
	e.sent += int64(n)
	return n, nil
}

// TestDecodeMaxPoints: every answer is refused past Max points, an endless
// one included, counted as frames.InfluxQL counts (values after the time,
// at least one per row) on the raw path and in rows on the numeric path.
func TestDecodeMaxPoints(t *testing.T) {
	var tooMany *models.TooManyPointsError
	body := `{"results":[{"series":[{"columns":["time","a","b"],"values":[[1,1,2],[2,3,4]]}]}]}`
	if _, err := generic(strings.NewReader(body), 4); err != nil {
		t.Fatalf("4 values under Max points 4: %v", err)
	}
	if _, err := generic(strings.NewReader(body), 3); !errors.As(err, &tooMany) || tooMany.MaxPoints != 3 {
		t.Fatalf("4 values under Max points 3: %v", err)
	}
	if err := numeric(strings.NewReader(body), 2); err != nil {
		t.Fatalf("2 rows under Max points 2: %v", err)
	}
	if err := numeric(strings.NewReader(body), 1); !errors.As(err, &tooMany) {
		t.Fatalf("2 rows under Max points 1: %v", err)
	}
	show := `{"results":[{"series":[{"columns":["name"],"values":[["a"],["b"],["c"]]}]}]}`
	if _, err := generic(strings.NewReader(show), 2); !errors.As(err, &tooMany) {
		t.Fatalf("3 names under Max points 2: %v", err)
	}
	for _, tc := range []struct {
		name string
		r    *endless
	}{
		{"endless chunks", &endless{body: series(`[1,1],[2,2]`) + "\n"}},
		{"an endless chunk", &endless{head: series(`[1,1]`)[:len(series(`[1,1]`))-len(`]}]}]}`)], body: `,[2,2]`}},
		{"an endless row", &endless{head: `{"results":[{"series":[{"columns":["time","a"],"values":[[1`, body: `,2`}},
		{"endless nested arrays in a row", &endless{head: `{"results":[{"series":[{"columns":["time","a"],"values":[[1,[`, body: `[],`}},
		{"endless empty chunks", &endless{body: `{"results":[{"series":[{"name":"m","columns":["time","a"],"values":[[1,1]]}]}]}` + "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generic(tc.r, 1000)
			if !errors.As(err, &tooMany) && !strings.Contains(fmt.Sprint(err), "MiB in one answer") {
				t.Fatalf("generic: got %v after %d bytes, want Max points", err, tc.r.sent)
			}
			tc.r.sent, tc.r.pending = 0, ""
			err = numeric(tc.r, 1000)
			if err == nil {
				t.Fatalf("numeric: no error after %d bytes", tc.r.sent)
			}
		})
	}
}

// TestDecodeStringBudget: the strings one answer leaves in memory are
// bounded, empty ones counted at their overhead.
func TestDecodeStringBudget(t *testing.T) {
	s := newScanner(strings.NewReader(`"abc" ""`), 64, newBudget(0))
	s.b.strings = MaxAnswerStrings - stringOverhead - 3
	if v, err := s.held(); err != nil || v != "abc" {
		t.Fatalf("the last string within the budget: %q, %v", v, err)
	}
	if _, err := s.held(); err == nil || !strings.Contains(err.Error(), "256 MiB in one answer") {
		t.Fatalf("a string beyond the budget: %v", err)
	}
	// Every string the answer keeps counts, empty ones at their overhead:
	// names, tag keys and values, string values, nested elements. The
	// budget here holds 2 MiB.
	for _, tc := range []struct{ name, body string }{
		{"names", `{"results":[{"series":[{"name":"m","columns":["time"` + strings.Repeat(`,""`, 2<<20/stringOverhead) + `]}]}]}`},
		{"tag keys", `{"results":[{"series":[{"name":"m","tags":{"":""` + strings.Repeat(`,"":""`, 2<<20/stringOverhead) + `}}]}]}`},
		{"chunk names", strings.Repeat(`{"results":[{"series":[{"name":"`+strings.Repeat("n", 4096)+`"}]}]}`, 2<<20/4096)},
		{"string values", series(strings.Repeat(`[1,"`+strings.Repeat("v", 4096)+`"],`, 2<<20/4096) + `[1,"v"]`)},
		{"nested", series(`[1,[[]` + strings.Repeat(`,[]`, 2<<20/elementOverhead) + `]]`)},
	} {
		b := newBudget(0)
		b.maxStrings = 2 << 20
		err := decodeWithin(strings.NewReader(tc.body), "u", b, func(h header) rowSink {
			return &genericSink{h: h, fn: func(Series) error { return nil }}
		})
		if err == nil || !strings.Contains(err.Error(), "2 MiB in one answer") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestDecodeUTF8: invalid UTF-8 in names, tags and values is replaced,
// byte by byte, as encoding/json replaces it; valid UTF-8 is kept.
func TestDecodeUTF8(t *testing.T) {
	body := "{\"results\":[{\"series\":[{\"name\":\"m\xff\xfe\",\"tags\":{\"t\xc3\":\"\xe2\x82\"},\"columns\":[\"time\",\"v\xed\xa0\x80\"],\"values\":[[1,\"a\xffé\"]]}]}]}"
	got, err := generic(strings.NewReader(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Results []struct{ Series []Series }
	}
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatal(err)
	}
	w := want.Results[0].Series[0]
	g := got[0]
	if g.Name != w.Name || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) || fmt.Sprint(g.Columns) != fmt.Sprint(w.Columns) ||
		g.Values[0][1] != w.Values[0][1] {
		t.Fatalf("got %q %q %q %q, encoding/json reads %q %q %q %q", g.Name, g.Tags, g.Columns, g.Values[0][1], w.Name, w.Tags, w.Columns, w.Values[0][1])
	}
	for _, s := range []string{g.Name, g.Columns[1], g.Values[0][1].(string)} {
		if !utf8.ValidString(s) {
			t.Fatalf("%q is not valid UTF-8", s)
		}
	}
}

// TestDecodeRowShape: a raw row has one value per column (readers index
// rows by column), and is an array.
func TestDecodeRowShape(t *testing.T) {
	for _, rows := range []string{`[1]`, `[1,2,3]`, `[]`, `null`, `"x"`, `{"a":1}`} {
		if _, err := generic(strings.NewReader(series(rows)), 0); err == nil {
			t.Errorf("row %s: no error", rows)
		}
	}
}

// TestDecodeEndless: a string, a number or a row that never ends is
// refused once past its bound, not accumulated until the timeout.
func TestDecodeEndless(t *testing.T) {
	head := `{"results":[{"series":[{"name":"m","columns":["time","a"],"values":[[1,`
	for _, tc := range []struct {
		name, head, body, want string
	}{
		{"string", head + `"`, strings.Repeat("x", 4096), "a string longer than"},
		{"name", `{"results":[{"series":[{"name":"`, strings.Repeat("x", 4096), "a string longer than"},
		{"number", head + "1", strings.Repeat("0", 4096), "longer than 1024 bytes"},
		{"nesting", head, strings.Repeat("[", 4096), "nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generic(&endless{head: tc.head, body: tc.body}, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
