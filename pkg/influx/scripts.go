package influx

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Selection is the data a Vigil query reads: one measurement's fields,
// optionally narrowed by tag equality. All names are escaped into Flux literals.
type Selection struct {
	Bucket      string
	Measurement string
	Fields      []string
	Tags        map[string]string
}

// Result names that Vigil's scripts yield; a record's Result() tells which.
const (
	YieldCount = "count"
	YieldLast  = "last"
)

// dropBookkeeping removes columns Vigil does not read, which makes the
// annotated CSV smaller and faster to decode.
const dropBookkeeping = `drop(columns: ["_start", "_stop", "_measurement"])`

// source is the shared head of every script: bucket, range and filter.
func (s Selection) source(start, stop time.Time) string {
	var f strings.Builder
	f.WriteString("r._measurement == " + String(s.Measurement))
	if len(s.Fields) > 0 {
		f.WriteString(" and (")
		for i, name := range s.Fields {
			if i > 0 {
				f.WriteString(" or ")
			}
			f.WriteString("r._field == " + String(name))
		}
		f.WriteString(")")
	}
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.WriteString(fmt.Sprintf(" and r[%s] == %s", String(k), String(s.Tags[k])))
	}
	// InfluxDB 1.8's range() includes its stop; stopping 1 ns early reads
	// [start, stop) there and, at worst, misses a point at stop-1ns on 2.x.
	return fmt.Sprintf("from(bucket: %s)\n  |> range(start: %s, stop: %s)\n  |> filter(fn: (r) => %s)",
		String(s.Bucket), Time(start), Time(stop.Add(-time.Nanosecond)), f.String())
}

// PointsScript reads every point in [start, stop): one table per series
// (field and tag set), in time order, with _time, _value, _field and the tags.
func PointsScript(s Selection, start, stop time.Time) string {
	return s.source(start, stop) + "\n  |> " + dropBookkeeping
}

// ProbeScript counts each series' points in [start, stop) (yield "count")
// and returns each series' last point (yield "last"), whose _value column
// tells the field's type.
func ProbeScript(s Selection, start, stop time.Time) string {
	return "data = " + s.source(start, stop) + "\n" +
		"data |> count() |> " + dropBookkeeping + " |> yield(name: \"" + YieldCount + "\")\n" +
		"data |> last() |> " + dropBookkeeping + " |> yield(name: \"" + YieldLast + "\")"
}
