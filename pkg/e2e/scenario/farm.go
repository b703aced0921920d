package scenario

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
)

// The farm: six printers' hotends (measurement farm, tag printer) at 1 Hz
// for the two hours up to now, which the printer dashboard's fleet panel and
// the provisioned fleet rule (the peers detector, in the data source's
// default bucket) read. The printers run 0.5 degrees apart around 220 (their
// calibration) with noise 0.5; FarmDrifting runs 10 degrees hot for the
// last 8 minutes. With 1-minute windows the others' spread (1.4826 x the
// MAD of five means 0.5 apart) is about 0.74 degrees: a printer at the
// fleet's edge scores about 0.6 at the default threshold 3.5, the drifting
// one about 2.
var (
	FarmPrinters = []string{"p1", "p2", "p3", "p4", "p5", "p6"}
	FarmDrifting = "p3"
)

// FarmLines is the farm's line protocol (seconds) up to now, seeded (PCG).
func FarmLines(now time.Time, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var lines []string
	for ts := now.Add(-2 * time.Hour); !ts.After(now); ts = ts.Add(time.Second) {
		for i, p := range FarmPrinters {
			hot := 220 + 0.5*(float64(i)-2.5) + 0.5*rng.NormFloat64()
			if p == FarmDrifting && ts.After(now.Add(-8*time.Minute)) {
				hot += 10
			}
			lines = append(lines, fmt.Sprintf("farm,printer=%s hotend=%v %d", p, hot, ts.Unix()))
		}
	}
	return lines
}

// WriteFarm writes the farm up to now into bucket.
func WriteFarm(ctx context.Context, db *devenv.InfluxDB, bucket string, now time.Time) error {
	lines := FarmLines(now.Truncate(time.Second), 17)
	return db.WriteLines(ctx, bucket, len(lines), func(i int) string { return lines[i] })
}
