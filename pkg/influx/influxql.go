package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
)

// Ident renders s as an InfluxQL quoted identifier: backslash, double quote
// and line breaks are escaped, so no name can end the identifier.
func Ident(s string) string {
	return `"` + influxQLEscaper.Replace(s) + `"`
}

// Literal renders s as an InfluxQL string literal.
func Literal(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`).Replace(s) + `'`
}

var influxQLEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)

// WindowStat is one window's summary of one series, computed by InfluxDB.
type WindowStat struct {
	Field string
	Tags  map[string]string
	// End is the window's end (InfluxQL stamps windows with their start).
	End  time.Time
	N    int64
	Mean float64
	// SD is the sample standard deviation; NaN when InfluxDB gave none (n = 1).
	SD float64
}

// WindowStatsStatement is the InfluxQL that WindowStats runs: per field and
// tag set, the count, mean and sample standard deviation of each window of
// width every in [start, stop), empty windows left out. InfluxQL computes
// these inside the storage engine, several times faster than Flux's
// aggregateWindow in InfluxDB 1.8.
func WindowStatsStatement(s Selection, start, stop time.Time, every time.Duration) (db, statement string) {
	var sel []string
	for i, f := range s.Fields {
		sel = append(sel, fmt.Sprintf(`count(%s) AS "n_%d", mean(%s) AS "mean_%d", stddev(%s) AS "sd_%d"`,
			Ident(f), i, Ident(f), i, Ident(f), i))
	}
	return s.Database(), fmt.Sprintf("SELECT %s FROM %s WHERE %s GROUP BY time(%s), * fill(none)",
		strings.Join(sel, ", "), s.From(), s.Where(start, stop), Duration(every))
}

// from is the InfluxQL source: "db"."rp"."measurement" (db/rp bucket), or
// "db".."measurement" for the default retention policy.
func (s Selection) From() string {
	db, rp, _ := strings.Cut(s.Bucket, "/")
	if rp == "" {
		return Ident(db) + ".." + Ident(s.Measurement)
	}
	return Ident(db) + "." + Ident(rp) + "." + Ident(s.Measurement)
}

// where is the InfluxQL condition: the time range [start, stop) and the tag filters.
func (s Selection) Where(start, stop time.Time) string {
	where := []string{TimeRange(start, stop)}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		where = append(where, fmt.Sprintf("%s = %s", Ident(k), Literal(s.Tags[k])))
	}
	return strings.Join(where, " AND ")
}

// minNanoTime is the earliest time InfluxDB stores, math.MinInt64 + 2 (it
// keeps the two lowest as sentinels). InfluxDB 1.8 answers an aggregate
// over "time >= -9223372036854775808" with no rows at all.
const minNanoTime = math.MinInt64 + 2

// TimeRange is the InfluxQL condition for [start, stop), clamped to the
// times InfluxDB holds: time.Time's UnixNano wraps beyond 1677 and 2262.
func TimeRange(start, stop time.Time) string {
	ns := func(t time.Time) int64 { return max(analysis.UnixNano(t), minNanoTime) }
	return fmt.Sprintf("time >= %d AND time < %d", ns(start), ns(stop))
}

// Database is the bucket's database (the part before "/").
func (s Selection) Database() string {
	db, _, _ := strings.Cut(s.Bucket, "/")
	return db
}

// Series is one series of an InfluxQL answer chunk.
type Series struct {
	// Name is the measurement (or what a SHOW statement names).
	Name    string
	Tags    map[string]string
	Columns []string
	Values  [][]any
}

// InfluxQL runs one statement on InfluxDB's InfluxQL endpoint (/query:
// InfluxDB 1.x, 2.x with a DBRP mapping, 3.x) with nanosecond epochs, and
// streams the answer to fn chunk by chunk, one series at a time. Numbers
// arrive as json.Number.
//
// It sends by GET, as Grafana's InfluxDB data source does by default: raw
// queries go this way. InfluxDB 1.x marks a GET query read-only, but 1.8
// still runs a write sent so (with a "deprecated use ... in a read only
// context" warning): CheckReadOnlyInfluxQL is what refuses writes.
func (c *Client) InfluxQL(ctx context.Context, db, statement string, fn func(Series) error) error {
	return c.send(ctx, http.MethodGet, db, statement, func(h header) rowSink { return &genericSink{h: h, fn: fn} })
}

// numeric runs a statement whose columns after time are all numbers and
// streams its rows to fn as Batch; typeErr makes the error for a value
// that is not a number.
func (c *Client) numeric(ctx context.Context, db, statement string, fn func(Batch) error, typeErr func(column string, v any) error) error {
	// By POST: Vigil's own SELECTs name every field and tag and can be
	// longer than a proxy takes in a URL.
	return c.send(ctx, http.MethodPost, db, statement, func(h header) rowSink { return newNumericSink(h, fn, typeErr) })
}

// send sends one statement to /query, in the URL (GET) or the form body
// (POST), and decodes the answer as it arrives.
func (c *Client) send(ctx context.Context, method, db, statement string, open func(header) rowSink) error {
	form := url.Values{"db": {db}, "q": {statement}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"10000"}}
	endpoint := strings.TrimRight(c.url, "/") + "/query"
	var body io.Reader
	if method == http.MethodGet {
		endpoint += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return c.fail(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Uncompressed: gzip made InfluxDB 1.8 serve the reference day 2.7 times
	// slower on loopback, and costs the plugin as much again to inflate
	// (BenchmarkAnswerFormats).
	req.Header.Set("Accept-Encoding", "identity")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(body))
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return c.nameCredentials(fromStatus(resp.StatusCode, msg, c.url))
	}
	return decodeAnswer(resp.Body, c.url, c.maxPoints, open)
}

// Number reads a value of an InfluxQL answer (a json.Number); false for null.
func Number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// Macros replaces Grafana's InfluxQL macros in a raw statement, as Grafana's
// own InfluxDB data source does: $timeFilter with the panel's time range (ms
// epochs, both ends included), $__interval with its interval as an InfluxQL
// duration and $__interval_ms with it in milliseconds.
func Macros(statement string, from, to time.Time, interval time.Duration) string {
	interval = max(interval.Truncate(time.Millisecond), time.Millisecond)
	return strings.NewReplacer(
		"$timeFilter", fmt.Sprintf("time >= %dms and time <= %dms", from.UnixMilli(), to.UnixMilli()),
		"$__interval_ms", strconv.FormatInt(interval.Milliseconds(), 10),
		"$__interval", Duration(interval),
	).Replace(statement)
}
