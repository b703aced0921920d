package devenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunWithInfluxDB runs a test binary's tests with a fresh InfluxDB (Flux
// enabled), stored in *db while they run, and returns the exit code for
// os.Exit. With -short it starts nothing, and integration tests skip
// themselves (see NeedInfluxDB).
func RunWithInfluxDB(m *testing.M, db **InfluxDB) int {
	return RunWithInfluxDBFlux(m, db, true)
}

// RunWithInfluxDBFlux is RunWithInfluxDB with Flux enabled or disabled.
func RunWithInfluxDBFlux(m *testing.M, db **InfluxDB, flux bool) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "vigil-influxdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	i, err := StartInfluxDBWith(ctx, dir, flux)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting InfluxDB for the integration tests:", err)
		return 1
	}
	defer i.Stop()
	*db = i
	return m.Run()
}

// NeedInfluxDB skips an integration test under -short.
func NeedInfluxDB(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs InfluxDB (run without -short)")
	}
}
