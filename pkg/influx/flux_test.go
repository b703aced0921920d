package influx

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"printer/autogen", `"printer/autogen"`},
		{`say "hi"`, `"say \"hi\""`},
		{`C:\temp`, `"C:\\temp"`},
		{"a\nb\r\tc", `"a\nb\r\tc"`},
		{"${injected}", `"\${injected}"`},
		{`") |> drop() //`, `"\") |> drop() //"`},
		{"Zürich ✓", `"Zürich ✓"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Minute, "5m"},
		{90 * time.Second, "90s"},
		{1500 * time.Millisecond, "1500ms"},
		{2 * time.Hour, "2h"},
		{time.Microsecond, "1us"},
		{7, "7ns"},
		{0, "0ns"},
		{-time.Second, "0ns"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestInterpolate(t *testing.T) {
	v := Vars{
		Start:        time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC),
		Stop:         time.Date(2016, 1, 1, 1, 0, 0, 500, time.FixedZone("x", 3600)),
		WindowPeriod: 15 * time.Second,
		Bucket:       `pr"inter/autogen`,
		Organization: "acme",
	}
	script := `from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> aggregateWindow(every: v.windowPeriod, fn: mean) // org v.organization, not v.bucketX or xv.bucket`
	want := `from(bucket: "pr\"inter/autogen") |> range(start: 2016-01-01T00:00:00Z, stop: 2016-01-01T00:00:00.0000005Z)
  |> aggregateWindow(every: 15s, fn: mean) // org "acme", not v.bucketX or xv.bucket`
	if got := Interpolate(script, v); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestClassify(t *testing.T) {
	const url = "http://127.0.0.1:9"
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name    string
		err     error
		kind    Kind
		message string
	}{
		{"connection refused", fmt.Errorf("post: %w", refused), KindUnreachable, "cannot reach InfluxDB at http://127.0.0.1:9 (connect: connection refused)"},
		{"dns", &net.DNSError{Err: "no such host", Name: "influx"}, KindUnreachable, "(no such host)"},
		{"timeout", timeoutErr{}, KindTimeout, `raise "Timeout"`},
		{"401", &influxhttp.Error{StatusCode: 401, Message: "authorization failed"}, KindUnauthorized, "InfluxDB refused the token (HTTP 401: authorization failed)"},
		{"403", &influxhttp.Error{StatusCode: 403, Code: "forbidden"}, KindUnauthorized, "HTTP 403: forbidden"},
		{"1.8 flux disabled", &influxhttp.Error{StatusCode: 403, Message: "Flux query service disabled. Verify flux-enabled=true in the [http] section of the InfluxDB config."}, KindBadQuery, "Flux is disabled on this InfluxDB"},
		{"1.8 missing database", &influxhttp.Error{StatusCode: 500, Message: "failed to initialize execute state: no database"}, KindNotFound, "bucket does not exist"},
		{"1.8 missing rp", &influxhttp.Error{StatusCode: 500, Message: "failed to initialize execute state: invalid retention policy"}, KindNotFound, "bucket does not exist"},
		{"2.x missing bucket", &influxhttp.Error{StatusCode: 404, Message: `bucket "x" not found`}, KindNotFound, "bucket does not exist"},
		{"1.8 flux error", &influxhttp.Error{StatusCode: 500, Message: `type error 1:55-1:61: undefined identifier "limitx"`}, KindBadQuery, "could not run the query (HTTP 500: type error"},
		{"bad request", &influxhttp.Error{StatusCode: 400, Message: "compilation failed"}, KindBadQuery, "rejected the query (HTTP 400: compilation failed)"},
		{"unavailable", &influxhttp.Error{StatusCode: 503, Message: "service temporarily unavailable"}, KindUnavailable, "is unavailable (HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err, url)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v", err, err)
			}
			if e.Kind != tt.kind || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("got kind %d %q, want kind %d containing %q", e.Kind, e.Message, tt.kind, tt.message)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("the cause is lost")
			}
		})
	}
}

func TestBucketError(t *testing.T) {
	missing := classify(&influxhttp.Error{StatusCode: 500, Message: "no database"}, "u")
	got := bucketError(missing, "nope/autogen").Error()
	if !strings.Contains(got, `bucket "nope/autogen" does not exist`) {
		t.Fatalf("got %q", got)
	}
	denied := classify(&influxhttp.Error{StatusCode: 401, Message: "authorization failed"}, "u")
	if got := bucketError(denied, "b").Error(); !strings.Contains(got, `may read bucket "b"`) {
		t.Fatalf("got %q", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestInfluxQLQuoting(t *testing.T) {
	if got := Ident(`te"mp\x` + "\n"); got != `"te\"mp\\x\n"` {
		t.Errorf("Ident: %s", got)
	}
	if got := Literal(`it's \ ok`); got != `'it\'s \\ ok'` {
		t.Errorf("Literal: %s", got)
	}
	sel := Selection{Bucket: "printer/autogen", Measurement: "temp\"s", Fields: []string{"hotend", "b\"ed"},
		Tags: map[string]string{"z": "1", "host": "a'; DROP DATABASE printer"}}
	db, stmt := WindowStatsStatement(sel, time.Unix(0, 0), time.Unix(600, 0), 5*time.Minute)
	want := `SELECT count("hotend") AS "n_0", mean("hotend") AS "mean_0", stddev("hotend") AS "sd_0", ` +
		`count("b\"ed") AS "n_1", mean("b\"ed") AS "mean_1", stddev("b\"ed") AS "sd_1" ` +
		`FROM "printer"."autogen"."temp\"s" WHERE time >= 0 AND time < 600000000000 AND "host" = 'a\'; DROP DATABASE printer' AND "z" = '1' ` +
		`GROUP BY time(5m), * fill(none)`
	if db != "printer" || stmt != want {
		t.Fatalf("got %s\n%s\nwant\n%s", db, stmt, want)
	}
	if _, stmt := WindowStatsStatement(Selection{Bucket: "house", Measurement: "m", Fields: []string{"f"}}, time.Unix(0, 0), time.Unix(60, 0), time.Minute); !strings.Contains(stmt, `FROM "house".."m"`) {
		t.Fatalf("default retention policy: %s", stmt)
	}
}

func TestPointsStatements(t *testing.T) {
	sel := Selection{Bucket: "b/rp", Measurement: `m"x`, Fields: []string{"a", `b"; DROP DATABASE b`}, Tags: map[string]string{"k": `v\'`}}
	db, got := PointsStatement(sel, time.Unix(0, 0), time.Unix(60, 0))
	want := `SELECT "a"::field, "b\"; DROP DATABASE b"::field FROM "b"."rp"."m\"x" WHERE time >= 0 AND time < 60000000000 AND "k" = 'v\\\'' GROUP BY *`
	if db != "b" || got != want {
		t.Fatalf("got %s\n%s\nwant\n%s", db, got, want)
	}
	_, got = SeriesCountStatement(sel, time.Unix(0, 0), time.Unix(60, 0))
	want = `SELECT count("a"::field) AS "count_0", sum("a"::field) AS "sum_0", count("b\"; DROP DATABASE b"::field) AS "count_1", sum("b\"; DROP DATABASE b"::field) AS "sum_1" FROM "b"."rp"."m\"x" WHERE time >= 0 AND time < 60000000000 AND "k" = 'v\\\'' GROUP BY *`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestProductLine(t *testing.T) {
	for version, want := range map[string]string{
		"1.8.10": "1.x", "v2.7.11": "2.x", "3.0.1": "3.x", "v3.2.0-enterprise": "3.x", "": "", "OSS": "", "10.1": "",
	} {
		if got := ProductLine(version); got != want {
			t.Errorf("ProductLine(%q) = %q, want %q", version, got, want)
		}
	}
}

func TestMacros(t *testing.T) {
	from, to := time.UnixMilli(1451606400000), time.UnixMilli(1451610000500)
	for _, tt := range []struct {
		stmt     string
		interval time.Duration
		want     string
	}{
		{`SELECT mean("v") FROM "m" WHERE $timeFilter GROUP BY time($__interval)`, time.Minute,
			`SELECT mean("v") FROM "m" WHERE time >= 1451606400000ms and time <= 1451610000500ms GROUP BY time(1m)`},
		{`SELECT $__interval_ms, $__interval FROM "m"`, 1500 * time.Millisecond, `SELECT 1500, 1500ms FROM "m"`},
		{`SELECT "v" FROM "m" GROUP BY time($__interval)`, 200 * time.Microsecond, `SELECT "v" FROM "m" GROUP BY time(1ms)`},
		{`SELECT "$timeFilterX" FROM "m"`, time.Second, `SELECT "time >= 1451606400000ms and time <= 1451610000500msX" FROM "m"`},
	} {
		if got := Macros(tt.stmt, from, to, tt.interval); got != tt.want {
			t.Errorf("Macros(%q)\n got %s\nwant %s", tt.stmt, got, tt.want)
		}
	}
}
