package influx

import (
	"strings"
	"testing"
)

func TestCheckReadOnlyFluxAccepts(t *testing.T) {
	for _, script := range []string{
		`from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)`,
		`buckets()`,
		`from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "to(")`,
		`from(bucket: "b") |> range(start: -1h) // |> to(bucket: "x")`,
		`from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r.host =~ /to\(|"/) |> yield()`,
		`x = "a ${r.host} to(bucket: \"b\")"` + "\nx",
		`import "experimental"` + "\nexperimental.addDuration(d: 1h, to: now())",
		`import "strings"` + "\n" + `from(bucket: "b") |> range(start: -1h) |> map(fn: (r) => ({r with to: r["to"]}))`,
		`a = 6 / 2 / 3`,
		// Flux reads a string after the division too (and then fails on types).
		`a = b /"/ |> to(bucket: "x") // "`,
		`from(bucket: "b") |> range(start: 2024-01-01T00:00:00Z, stop: 2024-01-02T00:00:00Z) |> window(every: 1h30m)`,
		`import "influxdata/influxdb/schema"` + "\nschema.measurements(bucket: \"b\")",
	} {
		if err := CheckReadOnlyFlux(script); err != nil {
			t.Errorf("%q: %v", script, err)
		}
	}
}

func TestCheckReadOnlyFluxRefuses(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{`from(bucket: "a") |> range(start: -1h) |> to(bucket: "b")`, "line 1, char 43: to() writes to InfluxDB: Vigil runs only Flux that reads"},
		{"import \"experimental\"\nfrom(bucket: \"a\") |> range(start: -1h)\n  |> experimental.to(bucket: \"b\")", "line 3, char 19: experimental.to() writes"},
		{`import "influxdata/influxdb"` + "\ndata |> influxdb.wideTo(bucket: \"b\")", "influxdb.wideTo() writes"},
		{`import e "experimental"` + "\ndata |> e.to(bucket: \"b\")", "e.to() writes"},
		{`f = to` + "\ndata |> f(bucket: \"b\")", "to() writes"},
		{`data |> wideTo(bucket: "b")`, "wideTo() writes"},
		{`import "sql"` + "\ndata |> sql.to(driverName: \"postgres\", dataSourceName: \"x\", table: \"t\")", `import "sql" is refused (sql.to writes`},
		{`import "http"` + "\nhttp.post(url: \"http://example.com\", data: bytes(v: \"x\"))", `line 1, char 1: import "http" is refused`},
		{`import h "http"`, `import "http" is refused`},
		{`import "kafka"`, `import "kafka"`},
		{`import "experimental/mqtt"`, `import "experimental/mqtt"`},
		{`import "slack"`, `import "slack"`},
		{`import "pagerduty"`, `import "pagerduty"`},
		{`import "contrib/sranka/telegram"`, `import "contrib/sranka/telegram" is refused (contrib packages`},
		{`import "contrib/bonitoo-io/opsgenie"`, `is refused`},
		{`import "influxdata/influxdb/secrets"`, `secrets.get reads secrets`},
		{`import "ht\x74p"`, "has escapes or interpolation"},
		// A string's interpolation is code.
		{`x = "${to(bucket: "b")}"`, "to() writes"},
		// A '/' after an operand divides: what follows is read.
		{`a = b / 2 |> to(bucket: "x") / 3`, "to() writes"},
		{`a = (b) / 2 |> to(bucket: "x") / 3`, "to() writes"},
		{`a = f()[0] / 2 |> to(bucket: "x") / 3`, "to() writes"},
		// After an operator a regex: "/.../" hides nothing it does not hide from Flux.
		{`a = b |> filter(fn: (r) => r.x =~ /"/) |> to(bucket: "x") // "`, "to() writes"},
		{`from(bucket: "a") |> to(bucket: "b") /* no block comments in Flux */`, "to() writes"},
		// A number ends where Flux's does: the identifier after it is read.
		{`data |> 0to(bucket: "b")`, "to() writes"},
		{`data |> 1msto(bucket: "b")`, "to() writes"},
		{`data |> 1.to(bucket: "b")`, "to() writes"},
		{`data |> 2024-01-01to(bucket: "b")`, "to() writes"},
		{`x = "unterminated`, "an unterminated string at line 1, char 5"},
		{`x = "${unterminated"`, "an unterminated"},
	} {
		err := CheckReadOnlyFlux(c.script)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.script, err, c.want)
		}
	}
}
