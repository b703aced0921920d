package influx

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Reader is the read boundary of the t-test, its warm-up, power and live
// code: typed points and typed window statistics, never wire records or
// column names. *Client reads InfluxDB through InfluxQL; influxtest.Fake
// reads CSV test data in memory.
type Reader interface {
	// FieldKeys lists a measurement's fields with their InfluxDB types.
	FieldKeys(ctx context.Context, bucket, measurement string) ([]FieldKey, error)
	// SeriesCounts counts and sums each field's values per tag set in [start, stop).
	SeriesCounts(ctx context.Context, s Selection, start, stop time.Time) ([]SeriesCount, error)
	// Points streams the selection's values in [start, stop), one tag set
	// at a time in time order; a Batch's column i is field i.
	Points(ctx context.Context, s Selection, start, stop time.Time, fn func(Batch) error) error
	// WindowStats streams per field and tag set the count, mean and sample
	// standard deviation of each epoch-aligned window of width every in
	// [start, stop); windows without values are left out.
	WindowStats(ctx context.Context, s Selection, start, stop time.Time, every time.Duration, fn func(WindowStat) error) error
	// Power streams the unmetered energy (PowerRead.Statement) in one column.
	Power(ctx context.Context, p PowerRead, fn func(Batch) error) error
}

var _ Reader = (*Client)(nil)

// SeriesCount is how many values one field has in one tag set, and their sum.
type SeriesCount struct {
	Field string
	Tags  map[string]string
	N     int64
	Sum   float64
}

// Points runs PointsStatement.
func (c *Client) Points(ctx context.Context, s Selection, start, stop time.Time, fn func(Batch) error) error {
	db, stmt := PointsStatement(s, start, stop)
	return c.numeric(ctx, db, stmt, func(b Batch) error {
		if b.Width != len(s.Fields) {
			return fmt.Errorf("InfluxDB answered %d columns for %d fields", b.Width, len(s.Fields))
		}
		return fn(b)
	}, notNumeric)
}

// SeriesCounts runs SeriesCountStatement.
func (c *Client) SeriesCounts(ctx context.Context, s Selection, start, stop time.Time) ([]SeriesCount, error) {
	db, stmt := SeriesCountStatement(s, start, stop)
	var out []SeriesCount
	err := c.numeric(ctx, db, stmt, func(b Batch) error {
		if b.Width != 2*len(s.Fields) {
			return fmt.Errorf("InfluxDB answered %d columns for %d fields' counts", b.Width, len(s.Fields))
		}
		for j := range b.Times {
			for i, f := range s.Fields {
				if n := b.Value(j, 2*i); n > 0 {
					out = append(out, SeriesCount{Field: f, Tags: b.Tags, N: int64(n), Sum: b.Value(j, 2*i+1)})
				}
			}
		}
		return nil
	}, notNumeric)
	return out, err
}

// WindowStats runs WindowStatsStatement.
func (c *Client) WindowStats(ctx context.Context, s Selection, start, stop time.Time, every time.Duration, fn func(WindowStat) error) error {
	db, stmt := WindowStatsStatement(s, start, stop, every)
	return c.numeric(ctx, db, stmt, func(b Batch) error {
		if b.Width != 3*len(s.Fields) {
			return fmt.Errorf("InfluxDB answered %d columns for %d fields' window statistics", b.Width, len(s.Fields))
		}
		for j, t := range b.Times {
			end := time.Unix(0, t).Add(every).UTC() // InfluxQL stamps a window with its start
			for i, f := range s.Fields {
				n := b.Value(j, 3*i)
				if math.IsNaN(n) || n == 0 {
					continue
				}
				w := WindowStat{Field: f, Tags: b.Tags, End: end, N: int64(n), Mean: b.Value(j, 3*i+1), SD: b.Value(j, 3*i+2)}
				if err := fn(w); err != nil {
					return err
				}
			}
		}
		return nil
	}, notNumeric)
}

// Power runs PowerRead.Statement.
func (c *Client) Power(ctx context.Context, p PowerRead, fn func(Batch) error) error {
	return c.numeric(ctx, p.Selection.Database(), p.Statement(), fn, notNumeric)
}

// NotNumericError is a value that is not a number where one was needed (a
// field whose type differs between shards, or a string field).
type NotNumericError struct {
	Column string
	Value  any
}

func (e *NotNumericError) Error() string {
	return fmt.Sprintf("field %s holds %T values; a number is needed", String(e.Column), e.Value)
}

func notNumeric(column string, v any) error { return &NotNumericError{Column: column, Value: v} }
