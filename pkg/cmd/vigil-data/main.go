// Command vigil-data generates Vigil's data sets and loads them into InfluxDB.
//
//	vigil-data printer   [-seed 1] [-start RFC3339 (default 24 h ago)] [-points 86402] [-realtime] [-format lp|csv|influx|kafka]
//	vigil-data household [-seed 1] [-start RFC3339 (default 30 days ago)] [-days 30]
//	vigil-data uci       -file household_power_consumption.txt [-resume]
//
// InfluxDB: -url (default $VIGIL_INFLUXDB_URL), -token ($VIGIL_INFLUXDB_TOKEN,
// InfluxDB 1.8: user:password) and -bucket (printer/autogen or house/autogen).
// printer -format lp or csv prints to standard output instead (the scipy
// reference reads the csv form); -format kafka produces to -topic (default
// printer) on -brokers ($VIGIL_KAFKA_BROKERS), one line-protocol message per
// point with a nanosecond timestamp.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "printer":
		err = printer(ctx, os.Args[2:])
	case "household":
		err = household(ctx, os.Args[2:])
	case "uci":
		err = uci(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vigil-data:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vigil-data printer|household|uci [flags] (-h for the flags)")
	os.Exit(2)
}

// influxFlags are the connection flags every loading subcommand takes.
type influxFlags struct{ url, token, bucket *string }

func connection(fs *flag.FlagSet, bucket string) influxFlags {
	return influxFlags{
		url:    fs.String("url", os.Getenv("VIGIL_INFLUXDB_URL"), "InfluxDB base URL"),
		token:  fs.String("token", os.Getenv("VIGIL_INFLUXDB_TOKEN"), "InfluxDB token (1.8: user:password)"),
		bucket: fs.String("bucket", bucket, "bucket (InfluxDB 1.8: database/retention-policy)"),
	}
}

func (f influxFlags) writer() (*loader.Writer, error) {
	if *f.url == "" {
		return nil, fmt.Errorf("-url (or $VIGIL_INFLUXDB_URL) is required")
	}
	return loader.NewWriter(*f.url, *f.token, *f.bucket), nil
}

func parseStart(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	return time.Parse(time.RFC3339, s)
}

func printer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("printer", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "random seed")
	start := fs.String("start", "", "time of the first point, RFC 3339 (default: 24 hours ago, so \"last 24 hours\" shows the anomalies)")
	points := fs.Int("points", datagen.PrinterPoints, "number of points, one per second")
	realtime := fs.Bool("realtime", false, "after the history, keep writing one point per second with anomalies every 15 minutes, until interrupted")
	format := fs.String("format", "influx", "influx (write to InfluxDB), kafka (produce to a topic), lp or csv (print)")
	brokers := fs.String("brokers", os.Getenv("VIGIL_KAFKA_BROKERS"), "-format kafka: comma-separated host:port list")
	topic := fs.String("topic", "printer", "-format kafka: the topic")
	conn := connection(fs, "printer/autogen")
	_ = fs.Parse(args)
	t0, err := parseStart(*start, time.Now().Add(-24*time.Hour).Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	if *format == "lp" || *format == "csv" {
		gen := datagen.NewPrinter(t0, *seed)
		var b strings.Builder
		for i := 0; i < *points; i++ {
			p := gen.Next()
			if *format == "csv" {
				b.WriteString(p.CSV())
			} else {
				b.WriteString(p.LineProtocol())
			}
			b.WriteByte('\n')
			if b.Len() > 1<<16 {
				fmt.Print(b.String())
				b.Reset()
			}
		}
		fmt.Print(b.String())
		return nil
	}
	var w loader.Sink
	if *format == "kafka" {
		if *brokers == "" {
			return fmt.Errorf("-brokers (or $VIGIL_KAFKA_BROKERS) is required")
		}
		t, err := loader.NewTopic(strings.Split(*brokers, ","), *topic)
		if err != nil {
			return err
		}
		defer t.Close(context.Background())
		w = t
	} else {
		iw, err := conn.writer()
		if err != nil {
			return err
		}
		defer iw.Close(context.Background())
		w = iw
	}
	if *points > 0 {
		if err := loader.Printer(ctx, w, t0, *points, *seed); err != nil {
			return err
		}
		w.Report(os.Stderr, "printer history")
	}
	if *realtime {
		fmt.Fprintln(os.Stderr, "printer: writing one point per second; Ctrl-C stops")
		return loader.PrinterRealtime(ctx, w, *seed+1, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	}
	return nil
}

func household(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("household", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "random seed")
	days := fs.Int("days", 30, "days of minute rows")
	start := fs.String("start", "", "time of the first row, RFC 3339 (default: so that the data ends now)")
	conn := connection(fs, "house/autogen")
	_ = fs.Parse(args)
	t0, err := parseStart(*start, time.Now().Add(-time.Duration(*days)*24*time.Hour).Truncate(time.Minute))
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	w, err := conn.writer()
	if err != nil {
		return err
	}
	defer w.Close(context.Background())
	if err := loader.Household(ctx, w, t0, *days*1440, *seed); err != nil {
		return err
	}
	w.Report(os.Stderr, "synthetic household")
	return nil
}

func uci(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("uci", flag.ExitOnError)
	file := fs.String("file", "household_power_consumption.txt", "the UCI data set's file")
	resume := fs.Bool("resume", false, "skip the rows InfluxDB already has (after an interrupted load)")
	conn := connection(fs, "house/autogen")
	_ = fs.Parse(args)
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, _ := f.Stat()
	w, err := conn.writer()
	if err != nil {
		return err
	}
	defer w.Close(context.Background())
	var after time.Time
	if *resume {
		c := influx.NewClient(influx.Config{URL: *conn.url, Token: *conn.token})
		after, err = loader.LastTime(ctx, c, *conn.bucket)
		c.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "resuming after %s\n", after.Format(time.RFC3339))
	}
	bar := func(frac float64) {
		const width = 40
		n := int(frac * width)
		fmt.Fprintf(os.Stderr, "\r[%s%s] %5.1f%%  %d points", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, w.Written())
	}
	skipped, err := loader.UCI(ctx, w, f, info.Size(), after, bar)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	w.Report(os.Stderr, fmt.Sprintf("UCI household (%d rows skipped)", skipped))
	return nil
}
