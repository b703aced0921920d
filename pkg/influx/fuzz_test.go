package influx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// hostileSeeds are answers no InfluxDB sends: nesting deeper than maxDepth,
// numbers strconv reads and JSON has not, numbers beyond float64, invalid
// UTF-8 and control characters in names, tags and values.
var hostileSeeds = []string{
	`{"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
	`{"results":[{"series":[{"columns":["time","a"],"values":[[1,` + strings.Repeat("[", 200) + `]]}]}]}`,
	`{"results":[{"series":[{"columns":["time","a"],"values":[[1,` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `]]}]}]}`,
	`{"results":[{"series":[{"columns":["time","a","b","c","d"],"values":[[1,nan,inf,0x1p-2,-inf]]}]}]}`,
	`{"results":[{"series":[{"columns":["time","a","b","c"],"values":[[+1,+2,01,1.],[2,.5,1e,1_0]]}]}]}`,
	`{"results":[{"series":[{"columns":["time","a","b"],"values":[[1,1e400,-1e400],[2,1e-400,` + strings.Repeat("9", 400) + `]]}]}]}`,
	"{\"results\":[{\"series\":[{\"name\":\"m\xff\",\"tags\":{\"t\xfe\":\"v\xe2\x82\"},\"columns\":[\"time\",\"a\xed\xa0\x80\"],\"values\":[[1,\"\xff\"]]}]}]}",
	"{\"results\":[{\"series\":[{\"name\":\"m\x01\",\"columns\":[\"time\",\"a\"],\"values\":[[1,2]]}]}]}",
}

// FuzzDecodeAnswer: Vigil's streaming decoder never panics or hangs on any
// body, fails only with its own classified errors, reads no more rows than
// Max points, accepts a body only when encoding/json accepts it too (its
// numbers included), and wherever it succeeds on a single JSON object, it
// read the same rows, tags and numbers as encoding/json (an independent
// decoder) does.
func FuzzDecodeAnswer(f *testing.F) {
	for _, seed := range hostileSeeds {
		f.Add(seed)
	}
	for _, seed := range []string{
		`{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"p":"x","q":""},"columns":["time","a","b"],"values":[[1,2.5,null],[2,-3e-7,4]]}]}]}`,
		`{"results":[{"series":[{"values":[[5,1.25]],"columns":["time","a"],"name":"m"}]}]}`,
		`{"results":[{"series":[{"name":"m\"1","tags":{"p\\q":"a\"b\u00e9\/\n"},"columns":["time","v"],"values":[[1,1E3],[2,-0.5e-2],[3,12345678901234567890]]}]}]}`,
		`{"results":[{"statement_id":0,"error":"database not found: x"}]}`, `{"error":"x"}`, `[1,2]`, ``, `{"results":[{"series":[{"columns":["time","a"],"values":[[1,`,
		"{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,1]],\"partial\":true}],\"partial\":true}]}\n{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[2,2]]}]}]}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := batches(body, nil)
		boundedRows(t, body, len(got), err)
		if err != nil {
			var e *Error
			var nn *NotNumericError
			if !errors.As(err, &e) && !errors.As(err, &nn) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
		jsonAccepts(t, body)
		var answer struct {
			Results []struct {
				Series []struct {
					Tags    map[string]string `json:"tags"`
					Columns []string          `json:"columns"`
					Values  [][]*json.Number  `json:"values"`
				} `json:"series"`
			} `json:"results"`
		}
		for _, key := range []string{`"results"`, `"series"`, `"tags"`, `"columns"`, `"values"`} {
			if strings.Count(strings.ToLower(body), key) != strings.Count(body, key) {
				return // encoding/json matches keys whatever their case, InfluxDB's answer has one
			}
		}
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&answer) != nil || dec.More() {
			return // not one object that encoding/json reads this way: no comparison
		}
		var want []string
		for _, r := range answer.Results {
			for _, s := range r.Series {
				tags := maps.Clone(s.Tags)
				maps.DeleteFunc(tags, func(_, v string) bool { return v == "" })
				if tags == nil {
					tags = map[string]string{}
				}
				if len(s.Columns) == 0 && len(s.Values) > 0 {
					return // no columns: the decoder's answer is its own
				}
				for _, row := range s.Values {
					if len(row) == 0 || row[0] == nil {
						return // InfluxDB never writes these; the decoder's answer is its own
					}
					ts, err := strconv.ParseInt(row[0].String(), 10, 64)
					if err != nil {
						return
					}
					vals := make([]string, len(s.Columns)-1)
					for c := range vals {
						vals[c] = "NaN"
						if c+1 < len(row) && row[c+1] != nil {
							v, err := strconv.ParseFloat(row[c+1].String(), 64)
							if err != nil && !errors.Is(err, strconv.ErrRange) {
								return
							}
							vals[c] = fmt.Sprint(v)
						}
					}
					want = append(want, fmt.Sprintf("%v|%d|%s", tags, ts, strings.Join(vals, " ")))
				}
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("decoded\n%s\nencoding/json reads\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// FuzzGenericAnswer: the raw path (raw InfluxQL, SHOW statements) never
// panics on any body either, passes on no more values than Max points
// (counted as frames.InfluxQL counts them) and rows of one value per
// column, keeps only valid UTF-8, and accepts a body only when
// encoding/json accepts it too.
func FuzzGenericAnswer(f *testing.F) {
	for _, seed := range hostileSeeds {
		f.Add(seed)
	}
	f.Add(`{"results":[{"series":[{"name":"m","tags":{"t":"a"},"columns":["time","n","s","b"],"values":[[1,1.5,"x",true],[2,null,"y",false]]}]}]}`)
	f.Add(`{"results":[{"series":[{"columns":["name"],"values":[["a"],[{"x":[1]}]]}]}]}`)
	f.Add(`{"results":[{"series":[{"columns":["name"],"values":[["a"],["b"],["c"],["d"],["e"],["f"],["g"]]}]}]}`)
	const maxPoints = 5
	f.Fuzz(func(t *testing.T, body string) {
		var values int
		err := decodeAnswer(bytes.NewReader([]byte(body)), "u", maxPoints, func(h header) rowSink {
			return &genericSink{h: h, fn: func(s Series) error {
				values += len(s.Values) * max(len(s.Columns)-1, 1)
				for _, text := range append(append([]string{s.Name}, s.Columns...), slices.Collect(maps.Values(s.Tags))...) {
					validText(t, text)
				}
				for k := range s.Tags {
					validText(t, k)
				}
				for _, row := range s.Values {
					if len(row) != len(s.Columns) {
						t.Fatalf("a row of %d values for %d columns", len(row), len(s.Columns))
					}
					for _, v := range row {
						if text, ok := v.(string); ok {
							validText(t, text)
						}
					}
				}
				return nil
			}}
		})
		if values > maxPoints {
			t.Fatalf("%d values passed on under Max points %d", values, maxPoints)
		}
		if err == nil {
			jsonAccepts(t, body)
		}
	})
}

// validText: a string the decoder keeps is valid UTF-8 of at most MaxString bytes.
func validText(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) || len(s) > MaxString {
		t.Fatalf("kept %q", s)
	}
}

// jsonAccepts fails unless encoding/json reads body as a stream of JSON
// values, numbers as float64 (so that it refuses what is beyond them).
func jsonAccepts(t *testing.T, body string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("the decoder accepted a body encoding/json refuses: %v", err)
		}
	}
}

// boundedRows: decoded under Max points 3, the numeric path passes on at
// most 3 rows, and refuses the body with a *models.TooManyPointsError
// where it read more unbounded (unbounded is rows and err).
func boundedRows(t *testing.T, body string, rows int, err error) {
	t.Helper()
	n := 0
	berr := decodeAnswer(strings.NewReader(body), "u", 3, func(h header) rowSink {
		return newNumericSink(h, func(b Batch) error { n += len(b.Times); return nil }, notNumeric)
	})
	var tooMany *models.TooManyPointsError
	switch {
	case n > 3:
		t.Fatalf("%d rows passed on under Max points 3", n)
	case err == nil && rows > 3 && !errors.As(berr, &tooMany):
		t.Fatalf("%d rows under Max points 3: %v, want Max points' error", rows, berr)
	case err == nil && rows <= 3 && berr != nil:
		t.Fatalf("%d rows under Max points 3: %v", rows, berr)
	}
}
