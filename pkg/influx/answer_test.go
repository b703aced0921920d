package influx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
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
