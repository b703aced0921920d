package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Series is one tag set of a topic (line protocol: the measurement's tags;
// json: the series key). The Decoder hands out one *Series per tag set, so
// that callers can key maps by the pointer.
type Series struct {
	Tags map[string]string
	// Key is the tag set in canonical form (tags sorted), for ordering.
	Key string
}

// Position is where a message is in its topic.
type Position struct {
	Partition int32
	Offset    int64
}

// Point is one selected field's value: Field indexes the query's fields.
type Point struct {
	Series *Series
	Field  int
	Time   int64 // ns since the Unix epoch
	Value  float64
	At     Position
}

// Decoder turns messages into the points a kafka query selects: the
// measurement (line protocol), the tag filter and the fields. A message
// that cannot be read, or a selected field that is not a number, is
// counted and skipped, and the first such problem is kept for a notice.
// Message timestamps are never used: only the payload's time counts.
type Decoder struct {
	format      string
	measurement []byte
	fields      [][]byte
	fieldPaths  [][]string // json: each field's path
	filter      map[string]string
	timePath    []string
	keyPath     []string
	keyLabel    string

	series map[string]*Series
	key    []byte // scratch: the tag set being read
	tags   [][2][]byte
	vals   []fieldValue

	// Malformed counts the messages (or lines) skipped; First describes the first.
	Malformed int64
	First     string
}

type fieldValue struct {
	field int
	v     float64
}

// NewDecoder returns the decoder of one kafka query.
func NewDecoder(q models.Query) *Decoder {
	d := &Decoder{format: q.Kafka.Format, measurement: []byte(q.Measurement), filter: q.Tags, series: map[string]*Series{}}
	for _, f := range q.TTest.Fields {
		d.fields = append(d.fields, []byte(f))
		d.fieldPaths = append(d.fieldPaths, strings.Split(f, "."))
	}
	if q.Kafka.TimePath != "" {
		d.timePath = strings.Split(q.Kafka.TimePath, ".")
	}
	d.keyLabel = "key"
	if q.Kafka.KeyPath != "" {
		d.keyPath = strings.Split(q.Kafka.KeyPath, ".")
		d.keyLabel = d.keyPath[len(d.keyPath)-1]
	}
	return d
}

// Decode reads one message (its key is the json series key when no key
// path is set) and calls fn for each selected value.
func (d *Decoder) Decode(at Position, key, value []byte, fn func(Point)) {
	if d.format == models.KafkaJSON {
		d.decodeJSON(at, key, value, fn)
		return
	}
	dec := lineprotocol.NewDecoderWithBytes(value)
	line := 0
	for dec.Next() {
		line++
		if err := d.decodeLine(dec, at, fn); err != nil {
			d.skip(at, fmt.Sprintf("line %d: %v", line, err))
		}
	}
}

func (d *Decoder) skip(at Position, reason string) {
	d.Malformed++
	if d.Malformed == 1 {
		d.First = fmt.Sprintf("partition %d offset %d: %s", at.Partition, at.Offset, reason)
	}
}

// forget lets go of a series (the live windows forgot it): a later message
// of its tag set makes a new one.
func (d *Decoder) forget(s *Series) {
	if d.series[s.Key] == s {
		delete(d.series, s.Key)
	}
}

// Notice says how many messages were skipped and why the first was ("" for none).
func (d *Decoder) Notice() string {
	if d.Malformed == 0 {
		return ""
	}
	return fmt.Sprintf("skipped %d malformed message(s); the first, at %s", d.Malformed, d.First)
}

// decodeLine reads one line-protocol entry; a line of another measurement,
// or whose tags do not match the filter, is passed over.
func (d *Decoder) decodeLine(dec *lineprotocol.Decoder, at Position, fn func(Point)) error {
	m, err := dec.Measurement()
	if err != nil {
		return err
	}
	if !bytes.Equal(m, d.measurement) {
		return nil
	}
	d.tags = d.tags[:0]
	d.key = d.key[:0]
	matched, sorted := 0, true
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		if want, ok := d.filter[string(k)]; ok {
			if want != string(v) {
				return nil
			}
			matched++
		}
		if n := len(d.tags); n > 0 && bytes.Compare(d.tags[n-1][0], k) >= 0 {
			sorted = false
		}
		// The decoder's slices last only until its next call: keep copies
		// in the scratch buffer.
		start := len(d.key)
		d.key = append(d.key, k...)
		d.key = append(d.key, v...)
		d.tags = append(d.tags, [2][]byte{d.key[start : start+len(k)], d.key[start+len(k):]})
	}
	if matched < len(d.filter) {
		return nil
	}
	d.vals = d.vals[:0]
	for {
		k, v, err := dec.NextField()
		if err != nil {
			return err
		}
		if k == nil {
			break
		}
		i := d.fieldIndex(k)
		if i < 0 {
			continue
		}
		x, ok := number(v)
		if !ok {
			return fmt.Errorf("field %q holds a %s, not a number", k, v.Kind())
		}
		d.vals = append(d.vals, fieldValue{i, x})
	}
	t, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
	if err != nil {
		return err
	}
	if t.IsZero() {
		return fmt.Errorf("no timestamp (Vigil never uses the message's own timestamp)")
	}
	if len(d.vals) == 0 {
		return nil
	}
	if !sorted {
		sort.Slice(d.tags, func(i, j int) bool { return bytes.Compare(d.tags[i][0], d.tags[j][0]) < 0 })
	}
	s := d.lookup()
	for _, fv := range d.vals {
		fn(Point{Series: s, Field: fv.field, Time: t.UnixNano(), Value: fv.v, At: at})
	}
	return nil
}

func (d *Decoder) fieldIndex(k []byte) int {
	for i, f := range d.fields {
		if bytes.Equal(f, k) {
			return i
		}
	}
	return -1
}

// number is a numeric field's value; NaN and infinities are not numbers here.
func number(v lineprotocol.Value) (float64, bool) {
	var x float64
	switch v.Kind() {
	case lineprotocol.Float:
		x = v.FloatV()
	case lineprotocol.Int:
		x = float64(v.IntV())
	case lineprotocol.Uint:
		x = float64(v.UintV())
	default:
		return 0, false
	}
	return x, !math.IsNaN(x) && !math.IsInf(x, 0)
}

// lookup returns the *Series of the tag set in d.tags, made the first time.
// The canonical key writes each tag as key NUL value NUL, sorted by key.
func (d *Decoder) lookup() *Series {
	canon := d.key[len(d.key):]
	for _, kv := range d.tags {
		canon = append(canon, kv[0]...)
		canon = append(canon, 0)
		canon = append(canon, kv[1]...)
		canon = append(canon, 0)
	}
	if s, ok := d.series[string(canon)]; ok {
		return s
	}
	s := &Series{Tags: map[string]string{}, Key: string(canon)}
	for _, kv := range d.tags {
		s.Tags[string(kv[0])] = string(kv[1])
	}
	d.series[s.Key] = s
	return s
}

// decodeJSON reads one JSON object: the time at timePath (an RFC 3339
// string or Unix milliseconds), the series key at keyPath (or the message
// key), each field at its path.
func (d *Decoder) decodeJSON(at Position, key, value []byte, fn func(Point)) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		d.skip(at, "not a JSON object")
		return
	}
	t, err := jsonTime(lookupPath(obj, d.timePath))
	if err != nil {
		d.skip(at, fmt.Sprintf("%s: %v", strings.Join(d.timePath, "."), err))
		return
	}
	seriesKey := string(key)
	if d.keyPath != nil {
		switch k := lookupPath(obj, d.keyPath).(type) {
		case string:
			seriesKey = k
		case json.Number:
			seriesKey = k.String()
		default:
			d.skip(at, fmt.Sprintf("%s: not a string or number", strings.Join(d.keyPath, ".")))
			return
		}
	}
	tags := map[string]string{}
	if seriesKey != "" {
		tags[d.keyLabel] = seriesKey
	}
	for k, want := range d.filter {
		if tags[k] != want {
			return
		}
	}
	d.vals = d.vals[:0]
	for i, f := range d.fields {
		v := lookupPath(obj, d.fieldPaths[i])
		if v == nil {
			continue
		}
		n, ok := v.(json.Number)
		x, err := strconv.ParseFloat(string(n), 64)
		if !ok || err != nil {
			d.skip(at, fmt.Sprintf("field %q is not a number", f))
			return
		}
		d.vals = append(d.vals, fieldValue{i, x})
	}
	if len(d.vals) == 0 {
		return
	}
	s, ok := d.series[seriesKey]
	if !ok {
		s = &Series{Tags: tags, Key: seriesKey}
		d.series[seriesKey] = s
	}
	for _, fv := range d.vals {
		fn(Point{Series: s, Field: fv.field, Time: t, Value: fv.v, At: at})
	}
}

func lookupPath(obj map[string]any, path []string) any {
	var v any = obj
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// The times a point can hold: nanoseconds since the epoch in an int64
// (time.Time.UnixNano), less the lowest, which marks "no point yet".
var (
	earliest = time.Unix(0, math.MinInt64+1).UTC()
	latest   = time.Unix(0, math.MaxInt64).UTC()
	// outside says why a time cannot be held; UnixNano would wrap it
	// around into today's range.
	outside = fmt.Sprintf("is outside the times a point can hold (%s to %s)", earliest.Format(time.RFC3339), latest.Format(time.RFC3339))
)

// jsonTime reads an RFC 3339 string or a number of Unix milliseconds
// (JavaScript's Date.now()), to the nanosecond.
func jsonTime(v any) (int64, error) {
	switch t := v.(type) {
	case string:
		p, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return 0, fmt.Errorf("%q is not an RFC 3339 time", t)
		}
		if p.Before(earliest) || p.After(latest) {
			return 0, fmt.Errorf("%q %s", t, outside)
		}
		return p.UnixNano(), nil
	case json.Number:
		// Exact decimal arithmetic: 1451606403000.5 ms is ...000500000 ns.
		ms, ok := new(big.Rat).SetString(string(t))
		if !ok {
			return 0, fmt.Errorf("%s is not a time in Unix milliseconds", t)
		}
		ns := new(big.Rat).Mul(ms, big.NewRat(1_000_000, 1))
		q := new(big.Int).Quo(ns.Num(), ns.Denom())
		if !q.IsInt64() || q.Int64() == math.MinInt64 {
			return 0, fmt.Errorf("%s ms %s", t, outside)
		}
		return q.Int64(), nil
	case nil:
		return 0, fmt.Errorf("is missing")
	}
	return 0, fmt.Errorf("is not a time (RFC 3339 string or Unix milliseconds)")
}
