// Command vigil-data generates Vigil's reference data sets.
//
//	vigil-data printer [-seed 1] [-start 2016-01-01T00:00:00Z] [-points 86402] [-format lp|csv]
//
// prints the 3D-printer temperatures of shared/docs/reference.md as InfluxDB
// line protocol (seconds precision) or as CSV (unix seconds, hotend, bed, air),
// with every float written in its shortest exact form.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "printer" {
		fmt.Fprintln(os.Stderr, "usage: vigil-data printer [-seed N] [-start RFC3339] [-points N] [-format lp|csv]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("printer", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "random seed")
	start := fs.String("start", "2016-01-01T00:00:00Z", "time of the first point (RFC 3339)")
	points := fs.Int("points", datagen.PrinterPoints, "number of points (one per second)")
	format := fs.String("format", "lp", "output format: lp (line protocol) or csv")
	_ = fs.Parse(os.Args[2:])
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "-start:", err)
		os.Exit(2)
	}
	if *format != "lp" && *format != "csv" {
		fmt.Fprintln(os.Stderr, "-format: want lp or csv")
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	gen := datagen.NewPrinter(t0, *seed)
	for i := 0; i < *points; i++ {
		p := gen.Next()
		line := p.LineProtocol()
		if *format == "csv" {
			line = p.CSV()
		}
		fmt.Fprintln(w, line)
	}
}
