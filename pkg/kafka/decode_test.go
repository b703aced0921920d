package kafka

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

func lineQuery(tags map[string]string, fields ...string) models.Query {
	return models.Query{Measurement: "temperatures", Tags: tags, TTest: models.TTest{Fields: fields},
		Kafka: models.Kafka{Format: models.KafkaLine}}
}

// decoded renders what a decoder gives for messages: one line per point.
func decoded(d *Decoder, messages ...string) []string {
	var out []string
	for i, m := range messages {
		d.Decode(Position{0, int64(i)}, nil, []byte(m), func(p Point) {
			out = append(out, fmt.Sprintf("%s %d=%v @%d", strings.ReplaceAll(p.Series.Key, "\x00", "|"), p.Field, p.Value, p.Time))
		})
	}
	return out
}

func TestDecodeLine(t *testing.T) {
	tests := []struct {
		name      string
		tags      map[string]string
		messages  []string
		want      []string
		malformed int64
		first     string
	}{
		{"float, integer and unsigned", nil, []string{"temperatures hotend=200.5,bed=60i,air=25u 1000"},
			[]string{" 0=200.5 @1000", " 1=60 @1000", " 2=25 @1000"}, 0, ""},
		{"tags sorted into one series", nil, []string{"temperatures,b=2,a=1 hotend=1 1", "temperatures,a=1,b=2 hotend=2 2"},
			[]string{"a|1|b|2| 0=1 @1", "a|1|b|2| 0=2 @2"}, 0, ""},
		{"escaped names and values", nil, []string{`temperatures,printer=p\ 1\,x hotend=3 7`},
			[]string{"printer|p 1,x| 0=3 @7"}, 0, ""},
		{"another measurement and unselected fields are passed over", nil,
			[]string{"humidity hotend=1 1", "temperatures other=1 2", "temperatures other=1,bed=4 3"},
			[]string{" 1=4 @3"}, 0, ""},
		{"tag filter", map[string]string{"printer": "p1"},
			[]string{"temperatures,printer=p1 hotend=1 1", "temperatures,printer=p2 hotend=2 2", "temperatures hotend=3 3"},
			[]string{"printer|p1| 0=1 @1"}, 0, ""},
		{"several lines in one message", nil, []string{"temperatures hotend=1 1\ntemperatures hotend=2 2\n"},
			[]string{" 0=1 @1", " 0=2 @2"}, 0, ""},
		{"malformed lines are counted and skipped", nil,
			[]string{"temperatures hotend=1 1\ntemperatures hotend 9\ntemperatures hotend=2 2", "temperatures hotend=\"hot\" 3", "temperatures hotend=4"},
			[]string{" 0=1 @1", " 0=2 @2"}, 3, "partition 0 offset 0: line 2:"},
		{"a string field is not a number", nil, []string{`temperatures hotend="x" 5`}, nil, 1, `field "hotend" holds a string, not a number`},
		{"no timestamp", nil, []string{"temperatures hotend=1"}, nil, 1, "no timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(lineQuery(tt.tags, "hotend", "bed", "air"))
			got := decoded(d, tt.messages...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if d.Malformed != tt.malformed || !strings.Contains(d.First, tt.first) {
				t.Fatalf("malformed %d (first %q), want %d (%q)", d.Malformed, d.First, tt.malformed, tt.first)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	q := models.Query{Tags: map[string]string{}, TTest: models.TTest{Fields: []string{"temp", "sensors.bed"}},
		Kafka: models.Kafka{Format: models.KafkaJSON, TimePath: "ts", KeyPath: "meta.printer"}}
	d := NewDecoder(q)
	got := decoded(d,
		`{"ts":"2016-01-01T00:00:01.5Z","meta":{"printer":"p1"},"temp":20,"sensors":{"bed":60.5}}`,
		`{"ts":1451606402000,"meta":{"printer":7},"temp":21}`,
		`{"ts":1451606403000.5,"meta":{"printer":"p1"},"temp":22}`,
		`{"ts":"yesterday","meta":{"printer":"p1"},"temp":1}`,
		`{"ts":1,"temp":1}`,
		`{"ts":1,"meta":{"printer":"p1"},"temp":"hot"}`,
		`[1,2]`,
	)
	want := []string{
		"p1 0=20 @1451606401500000000", "p1 1=60.5 @1451606401500000000",
		"7 0=21 @1451606402000000000",
		"p1 0=22 @1451606403000500000",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if d.Malformed != 4 || !strings.Contains(d.First, `offset 3: ts: "yesterday" is not an RFC 3339 time`) {
		t.Fatalf("malformed %d, first %q", d.Malformed, d.First)
	}
	// Without a key path the message key is the series key.
	q.Kafka.KeyPath = ""
	d = NewDecoder(q)
	var tags []map[string]string
	d.Decode(Position{}, []byte("p9"), []byte(`{"ts":0,"temp":1}`), func(p Point) { tags = append(tags, p.Series.Tags) })
	if !reflect.DeepEqual(tags, []map[string]string{{"key": "p9"}}) || time.Duration(0) != 0 {
		t.Fatalf("tags %v", tags)
	}
}

// TestJSONTimeRange: JSON times that nanoseconds since the epoch cannot
// hold (before 1677-09-21, after 2262-04-11) are malformed messages with
// their reason, never a wrapped-around time; the edges are points.
func TestJSONTimeRange(t *testing.T) {
	tests := []struct {
		ts   string
		want int64 // the point's time; 0: malformed
		why  string
	}{
		{`"2262-04-11T23:47:16.854775807Z"`, math.MaxInt64, ""},
		{`"2262-04-11T23:47:16.854775808Z"`, 0, "is outside the times a point can hold (1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z)"},
		{`"2263-01-01T00:00:00Z"`, 0, "is outside the times"},
		{`"9999-12-31T23:59:59Z"`, 0, "is outside the times"},
		{`"1677-09-21T00:12:43.145224193Z"`, math.MinInt64 + 1, ""},
		{`"1677-09-21T00:12:43.145224192Z"`, 0, "is outside the times"},
		{`"1600-01-01T00:00:00+02:00"`, 0, "is outside the times"},
		{`"0001-01-01T00:00:00Z"`, 0, "is outside the times"},
		{`9223372036854.775807`, math.MaxInt64, ""},
		{`9223372036854.775808`, 0, "9223372036854.775808 ms is outside the times"},
		{`-9223372036854.775808`, 0, "ms is outside the times"}, // the lowest marks "no point"
		{`-9223372036854.775807`, math.MinInt64 + 1, ""},
		{`1e300`, 0, "ms is outside the times"},
		{`253402300799000`, 0, "ms is outside the times"}, // 9999-12-31 in ms
	}
	for _, tt := range tests {
		d := NewDecoder(models.Query{TTest: models.TTest{Fields: []string{"v"}}, Kafka: models.Kafka{Format: models.KafkaJSON, TimePath: "ts"}})
		var got []int64
		d.Decode(Position{}, nil, []byte(`{"ts":`+tt.ts+`,"v":1}`), func(p Point) { got = append(got, p.Time) })
		switch {
		case tt.want != 0 && (len(got) != 1 || got[0] != tt.want || d.Malformed != 0):
			t.Errorf("%s: got %v (%s), want %d", tt.ts, got, d.First, tt.want)
		case tt.want == 0 && (len(got) != 0 || d.Malformed != 1 || !strings.Contains(d.First, "ts: ") || !strings.Contains(d.First, tt.why)):
			t.Errorf("%s: got %v, malformed %d %q, want malformed with %q", tt.ts, got, d.Malformed, d.First, tt.why)
		}
	}
}

// FuzzDecode: any message, in either format, is decoded or counted as
// malformed, never a panic, and every point is a finite value of a selected
// field.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("temperatures,printer=p1 hotend=1,bed=2i 1000"), false)
	f.Add([]byte("temperatures,b=2,a=1 hotend=\"x\" 5\ntemperatures hotend=3"), false)
	f.Add([]byte(`{"time":"2016-01-01T00:00:00Z","k":"p1","hotend":1.5,"s":{"bed":2}}`), true)
	f.Add([]byte(`{"time":1451606400000.25,"hotend":"x"}`), true)
	// Times beyond what nanoseconds since the epoch hold.
	f.Add([]byte(`{"time":"2300-01-01T00:00:00Z","k":"p1","hotend":1}`), true)
	f.Add([]byte(`{"time":"1601-01-01T00:00:00-12:00","k":"p1","hotend":1}`), true)
	f.Add([]byte(`{"time":"2262-04-11T23:47:16.854775807Z","k":"p1","hotend":1}`), true)
	f.Add([]byte(`{"time":-9223372036854.775808,"k":"p1","hotend":1}`), true)
	f.Add([]byte(`{"time":1e19,"k":"p1","hotend":1}`), true)
	f.Fuzz(func(t *testing.T, msg []byte, isJSON bool) {
		q := lineQuery(nil, "hotend", "s.bed")
		if isJSON {
			q.Measurement, q.Kafka = "", models.Kafka{Format: models.KafkaJSON, TimePath: "time", KeyPath: "k"}
		}
		d := NewDecoder(q)
		written := writtenTime(msg, isJSON)
		d.Decode(Position{}, []byte("key"), msg, func(p Point) {
			if p.Field < 0 || p.Field >= 2 || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Series == nil {
				t.Fatalf("point %+v from %q", p, msg)
			}
			// A point's time is the time written, never one wrapped around.
			if !written.IsZero() && !time.Unix(0, p.Time).Equal(written) || p.Time == math.MinInt64 {
				t.Fatalf("point at %v from %q, written %v", time.Unix(0, p.Time).UTC(), msg, written)
			}
		})
		if d.Malformed > 0 && d.First == "" {
			t.Fatalf("malformed without a reason: %q", msg)
		}
	})
}

// writtenTime is a JSON message's RFC 3339 "time", read apart from the
// decoder (zero: none, or not a string).
func writtenTime(msg []byte, isJSON bool) time.Time {
	var obj map[string]any
	if !isJSON || json.Unmarshal(msg, &obj) != nil {
		return time.Time{}
	}
	s, _ := obj["time"].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
