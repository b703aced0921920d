package influx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFluxLineLimit: through the client's HTTP transport, a Flux answer
// whose line never ends, or has more columns than maxFluxCommas, fails
// with an *Error once past the bound (it would grow in encoding/csv until
// the timeout), while a Flux answer of long lines below it is read whole.
func TestFluxLineLimit(t *testing.T) {
	const head = "#datatype,string,long,string\n,result,table,s\n"
	for _, tc := range []struct {
		name, body string
		repeat     string // written after body until the client stops reading
		wantErr    bool
	}{
		{"lines below the limit", head + strings.Repeat(",,0,"+strings.Repeat("x", maxFluxLine-8)+"\n", 3), "", false},
		{"a line that never ends", head + ",,0,", "x", true},
		{"a line of endless columns", head + ",,0,", ",", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v2/query" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/csv")
				_, _ = io.WriteString(w, tc.body)
				chunk := strings.Repeat(tc.repeat, 64<<10)
				for sent := 0; tc.repeat != "" && sent < 1<<30; sent += len(chunk) {
					if _, err := io.WriteString(w, chunk); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			c := NewClient(Config{URL: srv.URL, Token: "t", HTTPClient: &http.Client{}})
			defer c.Close()
			res, err := c.Query(context.Background(), `buckets()`)
			if err != nil {
				t.Fatal(err)
			}
			records := 0
			for res.Next() {
				records++
			}
			err = res.Err()
			res.Close()
			if !tc.wantErr {
				if err != nil || records != 3 {
					t.Fatalf("%d records, %v", records, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "a Flux answer with a line longer than") {
				t.Fatalf("got %v after %d records, want the line limit's error", err, records)
			}
		})
	}
}

// TestLineLimitCounts: lines are counted across reads, and reset at each
// line break.
func TestLineLimitCounts(t *testing.T) {
	read := func(body string, max, commas int) error {
		l := &lineLimit{ReadCloser: io.NopCloser(strings.NewReader(body)), max: max, maxCommas: commas}
		_, err := io.ReadAll(&oneByte{l})
		return err
	}
	for _, tc := range []struct {
		body    string
		wantErr bool
	}{
		{"12345\n12345\n12345", false}, {"123456\n", true}, {"1234\n123456", true},
		{",,,\n,,,\n", false}, {",,,,\n", true}, {"a,b\nc,d,e,f,g", true},
	} {
		if err := read(tc.body, 5, 3); (err != nil) != tc.wantErr {
			t.Errorf("%q: %v", tc.body, err)
		}
	}
}

// oneByte reads one byte at a time.
type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }
