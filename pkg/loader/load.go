package loader

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// Sink is where printer points go: InfluxDB (Writer) or a Kafka topic (Topic).
type Sink interface {
	Add(ctx context.Context, line string) error
	Flush(ctx context.Context) error
	// Line is a point in the line protocol the sink takes.
	Line(p datagen.PrinterPoint) string
	// Report prints the points written and the rate.
	Report(out io.Writer, what string)
}

// Printer writes the reference printer data: points one per second from start.
func Printer(ctx context.Context, w Sink, start time.Time, points int, seed uint64) error {
	gen := datagen.NewPrinter(start, seed)
	return writeN(ctx, w, points, func() string { return w.Line(gen.Next()) })
}

// PrinterRealtime writes one printer point per second, at the wall clock,
// with anomalies on datagen.RealtimeAnomaly's schedule, until ctx ends. A
// failed write is kept and retried with the next one, so InfluxDB going away
// loses nothing.
func PrinterRealtime(ctx context.Context, w Sink, seed uint64, logf func(string, ...any)) error {
	gen := datagen.NewPrinter(time.Now(), seed)
	start := time.Now().Truncate(time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := -1
	for {
		select {
		case <-ctx.Done():
			_ = w.Flush(context.Background())
			return nil
		case now := <-tick.C:
			t := now.Truncate(time.Second)
			if a := datagen.RealtimeAnomaly(start, t); a != last {
				if a >= 0 {
					logf("real-time printer: %s anomaly for %s from %s", datagen.PrinterFields[a], datagen.AnomalyLength, t.Format("15:04:05"))
				}
				last = a
			}
			err := w.Add(ctx, w.Line(gen.Realtime(start, t)))
			if err == nil {
				err = w.Flush(ctx)
			}
			if err != nil && ctx.Err() == nil {
				logf("real-time printer: %v (retrying)", err)
			}
		}
	}
}

// Household writes rows of synthetic household data from start.
func Household(ctx context.Context, w *Writer, start time.Time, rows int, seed uint64) error {
	gen := datagen.NewHousehold(start, seed)
	return writeN(ctx, w, rows, func() string { return gen.Next().LineProtocol() })
}

// writeN writes n lines from next, then flushes.
func writeN(ctx context.Context, w Sink, n int, next func() string) error {
	for range n {
		if err := w.Add(ctx, next()); err != nil {
			return err
		}
	}
	return w.Flush(ctx)
}

// UCI loads household_power_consumption.txt, skipping the rows at or before
// resumeAfter (zero: none), so an interrupted load goes on where it stopped.
// progress, if not nil, is called with the fraction of the file read.
func UCI(ctx context.Context, w *Writer, r io.Reader, size int64, resumeAfter time.Time, progress func(float64)) (skipped int64, err error) {
	cr := &countingReader{r: r}
	var rows int64
	err = ParseUCI(cr, func(row datagen.HouseholdRow) error {
		rows++
		if progress != nil && size > 0 && rows%10000 == 0 {
			progress(float64(cr.n) / float64(size))
		}
		if !resumeAfter.IsZero() && !row.Time.After(resumeAfter) {
			skipped++
			return nil
		}
		return w.Add(ctx, row.LineProtocol())
	})
	if err != nil {
		return skipped, err
	}
	if progress != nil {
		progress(1)
	}
	return skipped, w.Flush(ctx)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// LastTime is the newest point of a field of the household measurement in
// bucket (zero when there is none): where a resumed load starts.
func LastTime(ctx context.Context, c *influx.Client, bucket string) (time.Time, error) {
	sel := influx.Selection{Bucket: bucket, Measurement: datagen.HouseholdMeasurement}
	stmt := fmt.Sprintf("SELECT last(%s) FROM %s", influx.Ident(datagen.HouseholdFields[0]), sel.From())
	var last time.Time
	err := c.InfluxQL(ctx, sel.Database(), stmt, func(s influx.Series) error {
		for _, row := range s.Values {
			if n, ok := row[0].(json.Number); ok {
				ns, _ := n.Int64()
				last = time.Unix(0, ns).UTC()
			}
		}
		return nil
	})
	return last, err
}
