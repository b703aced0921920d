// Package influx is Vigil's access to InfluxDB: the client per data source,
// Flux literals that keep user strings out of the syntax, and errors that say
// what went wrong in terms a Grafana user can act on.
package influx

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"
)

// String renders s as a Flux string literal. Backslash, double quote and "$"
// (which would start ${...} interpolation) are escaped, and so are line
// breaks and tabs, so no user string can end the literal or inject syntax.
func String(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '$':
			b.WriteString(`\$`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Time renders t as a Flux time literal (RFC 3339, UTC, nanosecond precision).
func Time(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// durationUnits are Flux's duration units from the largest down.
var durationUnits = []struct {
	unit string
	size time.Duration
}{
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
}

// Duration renders d as a Flux duration literal in the largest unit that
// divides it exactly (Flux magnitudes are integers, so 1.5s is written 1500ms).
func Duration(d time.Duration) string {
	if d <= 0 {
		return "0ns"
	}
	for _, u := range durationUnits {
		if d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// Vars are the values of the v.* variables a raw Flux script may use, as
// Grafana's own Flux data source provides them.
type Vars struct {
	Start, Stop  time.Time
	WindowPeriod time.Duration
	Bucket       string
	Organization string
}

var varPattern = regexp.MustCompile(`\bv\.(timeRangeStart|timeRangeStop|windowPeriod|bucket|organization)\b`)

// Interpolate replaces the v.* variables in script with Flux literals.
func Interpolate(script string, v Vars) string {
	return varPattern.ReplaceAllStringFunc(script, func(m string) string {
		switch m[len("v."):] {
		case "timeRangeStart":
			return Time(v.Start)
		case "timeRangeStop":
			return Time(v.Stop)
		case "windowPeriod":
			return Duration(v.WindowPeriod)
		case "bucket":
			return String(v.Bucket)
		default:
			return String(v.Organization)
		}
	})
}

// ColumnIndex is the position of the named column in a Flux table, or -1.
func ColumnIndex(meta *query.FluxTableMetadata, name string) int {
	for i, c := range meta.Columns() {
		if c.Name() == name {
			return i
		}
	}
	return -1
}
