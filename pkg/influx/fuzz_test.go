package influx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeAnswer: Vigil's streaming decoder never panics or hangs on any
// body, fails only with its own classified errors, and wherever it succeeds
// on a single JSON object, it read the same rows, tags and numbers as
// encoding/json (an independent decoder) does.
func FuzzDecodeAnswer(f *testing.F) {
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
		if err != nil {
			var e *Error
			var nn *NotNumericError
			if !errors.As(err, &e) && !errors.As(err, &nn) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
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
// panics on any body either.
func FuzzGenericAnswer(f *testing.F) {
	f.Add(`{"results":[{"series":[{"name":"m","tags":{"t":"a"},"columns":["time","n","s","b"],"values":[[1,1.5,"x",true],[2,null,"y",false]]}]}]}`)
	f.Add(`{"results":[{"series":[{"columns":["name"],"values":[["a"],[{"x":[1]}]]}]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		_ = decodeAnswer(bytes.NewReader([]byte(body)), "u", 0, func(h header) rowSink {
			return &genericSink{h: h, fn: func(Series) error { return nil }}
		})
	})
}
