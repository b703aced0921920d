// Package influxtest is an in-memory influx.Reader that reads CSV test data,
// so that the t-test, warm-up, power and live logic get fast tests without
// a server. It answers as InfluxDB's InfluxQL does for Vigil's statements:
// series by tag set, rows in time order, epoch-aligned windows, sample
// standard deviations, null for a window of one value.
package influxtest

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// Fake holds points per bucket and measurement. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	series map[string]*series // by bucket, measurement and tag set
	// Err, when set, is returned by every read instead of an answer.
	Err error
	// Reads counts the reads answered, by method.
	Reads map[string]int
}

type series struct {
	bucket, measurement string
	tags                map[string]string
	key                 string
	rows                map[int64]map[string]any // time -> field -> float64 or string
}

// New returns an empty fake.
func New() *Fake { return &Fake{series: map[string]*series{}, Reads: map[string]int{}} }

// LoadFile reads a CSV file into bucket (see Load).
func (f *Fake) LoadFile(bucket, path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	return f.Load(bucket, file)
}

// Load reads CSV test data into bucket. The header names the columns:
// "measurement", "time" (RFC 3339 or integer nanoseconds), "tag:<key>" for
// tags, anything else a field. An empty cell is no value; a field cell that
// is not a number is a string value.
func (f *Fake) Load(bucket string, r io.Reader) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	head, err := cr.Read()
	if err != nil {
		return err
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var measurement string
		var ts int64
		tags := map[string]string{}
		fields := map[string]any{}
		for i, col := range head {
			v := rec[i]
			switch {
			case col == "measurement":
				measurement = v
			case col == "time":
				if ts, err = parseTime(v); err != nil {
					return fmt.Errorf("line %d: %w", line, err)
				}
			case strings.HasPrefix(col, "tag:"):
				if v != "" {
					tags[strings.TrimPrefix(col, "tag:")] = v
				}
			case v == "":
			default:
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					fields[col] = x
				} else {
					fields[col] = v
				}
			}
		}
		f.Write(bucket, measurement, tags, ts, fields)
	}
}

func parseTime(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UnixNano(), err
}

// Write stores one point; as in InfluxDB, a point at the time of an earlier
// one of the same series overwrites the fields it has.
func (f *Fake) Write(bucket, measurement string, tags map[string]string, ts int64, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := bucket + "\x00" + measurement + "\x00" + tagKey(tags)
	s := f.series[key]
	if s == nil {
		s = &series{bucket: bucket, measurement: measurement, tags: tags, key: tagKey(tags), rows: map[int64]map[string]any{}}
		f.series[key] = s
	}
	row := s.rows[ts]
	if row == nil {
		row = map[string]any{}
		s.rows[ts] = row
	}
	for k, v := range fields {
		row[k] = v
	}
}

func tagKey(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + tags[k] + ",")
	}
	return b.String()
}

// matching returns the selection's series in InfluxDB's order (by tag set)
// with their times in [start, stop), sorted.
func (f *Fake) matching(method string, s influx.Selection, start, stop time.Time) ([]*series, [][]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Reads[method]++
	if f.Err != nil {
		return nil, nil, f.Err
	}
	var out []*series
	for _, sr := range f.series {
		if sr.bucket == s.Bucket && sr.measurement == s.Measurement && hasTags(sr.tags, s.Tags) {
			out = append(out, sr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	times := make([][]int64, len(out))
	for i, sr := range out {
		for ts := range sr.rows {
			if ts >= start.UnixNano() && ts < stop.UnixNano() {
				times[i] = append(times[i], ts)
			}
		}
		sort.Slice(times[i], func(a, b int) bool { return times[i][a] < times[i][b] })
	}
	return out, times, nil
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// number is a field's value in a row: NaN when absent, an error for a string.
func number(row map[string]any, field string) (float64, error) {
	switch v := row[field].(type) {
	case nil:
		return math.NaN(), nil
	case float64:
		return v, nil
	default:
		return 0, &influx.NotNumericError{Column: field, Value: v}
	}
}

// FieldKeys lists the measurement's fields: float, or string when a value is one.
func (f *Fake) FieldKeys(_ context.Context, bucket, measurement string) ([]influx.FieldKey, error) {
	all := influx.Selection{Bucket: bucket, Measurement: measurement}
	list, _, err := f.matching("FieldKeys", all, time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64))
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, sr := range list {
		for _, row := range sr.rows {
			for k, v := range row {
				if _, ok := v.(string); ok {
					types[k] = "string"
				} else if types[k] == "" {
					types[k] = "float"
				}
			}
		}
	}
	out := []influx.FieldKey{}
	for k, t := range types {
		out = append(out, influx.FieldKey{Name: k, Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Points answers as influx.PointsStatement, in batches of at most 1,000 rows.
func (f *Fake) Points(_ context.Context, s influx.Selection, start, stop time.Time, fn func(influx.Batch) error) error {
	list, times, err := f.matching("Points", s, start, stop)
	if err != nil {
		return err
	}
	for i, sr := range list {
		b := influx.Batch{Tags: sr.tags, Width: len(s.Fields)}
		flush := func() error {
			if len(b.Times) == 0 {
				return nil
			}
			err := fn(b)
			b.Times, b.Values = b.Times[:0], b.Values[:0]
			return err
		}
		for _, ts := range times[i] {
			row := sr.rows[ts]
			vals := make([]float64, len(s.Fields))
			present := false
			for c, field := range s.Fields {
				if vals[c], err = number(row, field); err != nil {
					return err
				}
				present = present || !math.IsNaN(vals[c])
			}
			if !present {
				continue // InfluxDB returns no row where none of the fields has a value
			}
			b.Times = append(b.Times, ts)
			b.Values = append(b.Values, vals...)
			if len(b.Times) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// SeriesCounts answers as influx.SeriesCountStatement.
func (f *Fake) SeriesCounts(_ context.Context, s influx.Selection, start, stop time.Time) ([]influx.SeriesCount, error) {
	list, times, err := f.matching("SeriesCounts", s, start, stop)
	if err != nil {
		return nil, err
	}
	var out []influx.SeriesCount
	for i, sr := range list {
		for _, field := range s.Fields {
			var n int64
			var sum float64
			for _, ts := range times[i] {
				if v, ok := sr.rows[ts][field]; ok {
					n++
					x, _ := v.(float64)
					sum += x
				}
			}
			if n > 0 {
				out = append(out, influx.SeriesCount{Field: field, Tags: sr.tags, N: n, Sum: sum})
			}
		}
	}
	return out, nil
}

// WindowStats answers as influx.WindowStatsStatement: per epoch-aligned
// window, the count, mean and sample standard deviation (two-pass).
func (f *Fake) WindowStats(_ context.Context, s influx.Selection, start, stop time.Time, every time.Duration, fn func(influx.WindowStat) error) error {
	list, times, err := f.matching("WindowStats", s, start, stop)
	if err != nil {
		return err
	}
	for i, sr := range list {
		windows := map[int64]map[string][]float64{}
		var order []int64
		first := map[int64]int64{} // a time in each window
		for _, ts := range times[i] {
			w := floorDiv(ts, int64(every))
			if windows[w] == nil {
				windows[w] = map[string][]float64{}
				order = append(order, w)
				first[w] = ts
			}
			for _, field := range s.Fields {
				x, err := number(sr.rows[ts], field)
				if err != nil {
					return err
				}
				if !math.IsNaN(x) {
					windows[w][field] = append(windows[w][field], x)
				}
			}
		}
		for _, w := range order {
			for _, field := range s.Fields {
				xs := windows[w][field]
				if len(xs) == 0 {
					continue
				}
				mean, sd := meanSD(xs)
				// From a time in the window: (w+1)·every wraps near the ends
				// of int64, the offset ts - w·every (wrapped alike) does not.
				end := time.Unix(0, first[w]).Add(every - time.Duration(first[w]-w*int64(every))).UTC()
				if err := fn(influx.WindowStat{Field: field, Tags: sr.tags, End: end, N: int64(len(xs)), Mean: mean, SD: sd}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// meanSD is the mean and the sample standard deviation, NaN for one value
// (InfluxQL's stddev answers null there).
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) == 1 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// Power answers as influx.PowerRead.Statement: the unmetered energy of each
// point that has every input, or its mean, max or sum per interval.
func (f *Fake) Power(_ context.Context, p influx.PowerRead, fn func(influx.Batch) error) error {
	list, times, err := f.matching("Power", p.Selection, p.Start, p.Stop)
	if err != nil {
		return err
	}
	type value struct {
		t int64
		v float64
	}
	var points []value
	for i, sr := range list {
		for _, ts := range times[i] {
			row := sr.rows[ts]
			v, err := number(row, p.ActivePower)
			if err != nil {
				return err
			}
			v = v * 1000.0 / 60.0
			for _, m := range p.SubMeters {
				x, err := number(row, m)
				if err != nil {
					return err
				}
				v -= x
			}
			if !math.IsNaN(v) {
				points = append(points, value{ts, v})
			}
		}
	}
	sort.SliceStable(points, func(i, j int) bool { return points[i].t < points[j].t })
	out := influx.Batch{Width: 1, Tags: map[string]string{}}
	if p.Aggregate == influx.AggregateNone {
		for _, pt := range points {
			out.Times, out.Values = append(out.Times, pt.t), append(out.Values, pt.v)
		}
		return fn(out)
	}
	for k := 0; k < len(points); {
		w := floorDiv(points[k].t, int64(p.Every))
		var xs []float64
		for ; k < len(points) && floorDiv(points[k].t, int64(p.Every)) == w; k++ {
			xs = append(xs, points[k].v)
		}
		out.Times = append(out.Times, w*int64(p.Every))
		out.Values = append(out.Values, aggregate(p.Aggregate, xs))
	}
	return fn(out)
}

func aggregate(agg influx.Aggregate, xs []float64) float64 {
	switch agg {
	case influx.AggregateMax:
		m := xs[0]
		for _, x := range xs {
			m = math.Max(m, x)
		}
		return m
	case influx.AggregateSum:
		var s float64
		for _, x := range xs {
			s += x
		}
		return s
	default:
		mean, _ := meanSD(xs)
		return mean
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

var _ influx.Reader = (*Fake)(nil)
