package kafka

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// Store holds a query's decoded points in memory and answers the t-test's
// reads (influx.Reader) from them, as InfluxDB answers them for the same
// points: series by tag set, rows in time order, one value per series,
// field and time (of two, the later message wins, as a later write does
// in InfluxDB; messages are ordered by partition and offset).
type Store struct {
	fields []string
	raw    map[*Series][]Point
	series []*storedSeries // sorted by key, after Finish
}

type storedSeries struct {
	*Series
	times  []int64
	values []float64 // row-major, len(fields) per row; NaN: no value
}

var _ influx.Reader = (*Store)(nil)

// ErrNotSupported is the answer to reads that only InfluxDB can make.
var ErrNotSupported = errors.New("not supported for Kafka topics")

// NewStore returns an empty store for the query's fields.
func NewStore(fields []string) *Store {
	return &Store{fields: fields, raw: map[*Series][]Point{}}
}

// Add keeps one point; call Finish before reading.
func (s *Store) Add(p Point) { s.raw[p.Series] = append(s.raw[p.Series], p) }

// Finish sorts the points into rows.
func (s *Store) Finish() {
	w := len(s.fields)
	for sr, pts := range s.raw {
		SortPoints(pts)
		st := &storedSeries{Series: sr}
		for i, p := range pts {
			if i == 0 || p.Time != pts[i-1].Time {
				st.times = append(st.times, p.Time)
				for range w {
					st.values = append(st.values, math.NaN())
				}
			}
			st.values[(len(st.times)-1)*w+p.Field] = p.Value
		}
		s.series = append(s.series, st)
	}
	s.raw = nil
	sort.Slice(s.series, func(i, j int) bool { return s.series[i].Key < s.series[j].Key })
}

// SortPoints orders points by time, then by position in the topic, so that
// of two values for one field and time the later message comes last.
func SortPoints(pts []Point) {
	sort.Slice(pts, func(i, j int) bool {
		a, b := pts[i], pts[j]
		switch {
		case a.Time != b.Time:
			return a.Time < b.Time
		case a.At.Partition != b.At.Partition:
			return a.At.Partition < b.At.Partition
		}
		return a.At.Offset < b.At.Offset
	})
}

// rows is the part of a series in [start, stop).
func (st *storedSeries) rows(start, stop time.Time) (lo, hi int) {
	lo = sort.Search(len(st.times), func(i int) bool { return st.times[i] >= start.UnixNano() })
	hi = sort.Search(len(st.times), func(i int) bool { return st.times[i] >= stop.UnixNano() })
	return lo, hi
}

// FieldKeys lists the query's fields as floats: the decoder kept only numbers.
func (s *Store) FieldKeys(context.Context, string, string) ([]influx.FieldKey, error) {
	keys := make([]influx.FieldKey, len(s.fields))
	for i, f := range s.fields {
		keys[i] = influx.FieldKey{Name: f, Type: "float"}
	}
	return keys, nil
}

// SeriesCounts counts and sums each field's values per series in [start, stop).
func (s *Store) SeriesCounts(_ context.Context, _ influx.Selection, start, stop time.Time) ([]influx.SeriesCount, error) {
	var out []influx.SeriesCount
	w := len(s.fields)
	for _, st := range s.series {
		lo, hi := st.rows(start, stop)
		for i, f := range s.fields {
			c := influx.SeriesCount{Field: f, Tags: st.Tags}
			for j := lo; j < hi; j++ {
				if v := st.values[j*w+i]; !math.IsNaN(v) {
					c.N++
					c.Sum += v
				}
			}
			if c.N > 0 {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// Points streams each series' rows in [start, stop).
func (s *Store) Points(ctx context.Context, _ influx.Selection, start, stop time.Time, fn func(influx.Batch) error) error {
	w := len(s.fields)
	for _, st := range s.series {
		if err := ctx.Err(); err != nil {
			return err
		}
		lo, hi := st.rows(start, stop)
		if lo == hi {
			continue
		}
		if err := fn(influx.Batch{Tags: st.Tags, Width: w, Times: st.times[lo:hi], Values: st.values[lo*w : hi*w]}); err != nil {
			return err
		}
	}
	return nil
}

// WindowStats is not supported: a kafka query reads points.
func (s *Store) WindowStats(context.Context, influx.Selection, time.Time, time.Time, time.Duration, func(influx.WindowStat) error) error {
	return ErrNotSupported
}

// Power is not supported: the power query reads InfluxDB.
func (s *Store) Power(context.Context, influx.PowerRead, func(influx.Batch) error) error {
	return ErrNotSupported
}
