// Package loader puts data into InfluxDB for Vigil's demo and users: the
// reference printer data (history and real time, also to a Kafka topic),
// the UCI household power file, and synthetic household data. Everything is
// written through the InfluxDB client (or franz-go) in batches, with a
// throughput report.
package loader

import (
	"context"
	"fmt"
	"io"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// BatchSize is the number of lines per write request.
const BatchSize = 5000

// Writer writes line protocol (seconds precision) in batches.
type Writer struct {
	client  influxdb2.Client
	write   api.WriteAPIBlocking
	batch   []string
	written int64
	start   time.Time
}

// NewWriter writes to bucket (InfluxDB 1.8: db/rp) at url with token.
func NewWriter(url, token, bucket string) *Writer {
	c := influxdb2.NewClientWithOptions(url, token, influxdb2.DefaultOptions().SetPrecision(time.Second).SetLogLevel(0))
	return &Writer{client: c, write: c.WriteAPIBlocking("", bucket), batch: make([]string, 0, BatchSize), start: time.Now()}
}

// Add queues one line and writes the batch when it is full.
func (w *Writer) Add(ctx context.Context, line string) error {
	if line == "" {
		return nil
	}
	w.batch = append(w.batch, line)
	if len(w.batch) == cap(w.batch) {
		return w.Flush(ctx)
	}
	return nil
}

// Flush writes what is queued.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.write.WriteRecord(ctx, w.batch...); err != nil {
		return fmt.Errorf("writing to InfluxDB: %w", err)
	}
	w.written += int64(len(w.batch))
	w.batch = w.batch[:0]
	return nil
}

// Line is p with a seconds timestamp.
func (w *Writer) Line(p datagen.PrinterPoint) string { return p.LineProtocol() }

// Written is the number of lines written so far.
func (w *Writer) Written() int64 { return w.written }

// Report prints the lines written and the rate.
func (w *Writer) Report(out io.Writer, what string) { report(out, what, w.written, w.start) }

func report(out io.Writer, what string, n int64, start time.Time) {
	d := time.Since(start)
	fmt.Fprintf(out, "%s: %d points in %s (%.0f points/s)\n", what, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
}

// Close flushes and releases the client.
func (w *Writer) Close(ctx context.Context) error {
	err := w.Flush(ctx)
	w.client.Close()
	return err
}
