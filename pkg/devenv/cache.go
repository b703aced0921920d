// Package devenv installs and runs the real servers that Vigil's integration
// and end-to-end tests and the local demo use: InfluxDB 1.8.10 (Flux and the
// v2 API, built from the Go module proxy and cached outside the work tree),
// Prometheus Alertmanager and an SMTP server (Debian packages), and, only
// when the user gives one, a Grafana server. Every server binds to
// 127.0.0.1 on a free port.
package devenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Pinned server versions (see shared/docs/test-servers.md).
const (
	InfluxDBModule  = "github.com/influxdata/influxdb/cmd/influxd@v1.8.10"
	InfluxDBVersion = "1.8.10"
)

// CacheDir is where servers are built and kept: $VIGIL_CACHE_DIR, else
// $XDG_CACHE_HOME/vigil, else ~/.cache/vigil.
func CacheDir() string {
	if d := os.Getenv("VIGIL_CACHE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "vigil")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vigil-cache")
	}
	return filepath.Join(home, ".cache", "vigil")
}

// InfluxDBBinary is the cached influxd.
func InfluxDBBinary() string { return filepath.Join(CacheDir(), "bin", "influxd-"+InfluxDBVersion) }

// MissingError tells a test run which install step to run.
func MissingError() error {
	return fmt.Errorf("InfluxDB is not installed in %s: run `go run mage.go servers` (or the README's test command) first", CacheDir())
}

// InstallInfluxDB builds influxd into the cache unless it is already there.
func InstallInfluxDB(ctx context.Context, log io.Writer) error {
	if exists(InfluxDBBinary()) {
		return nil
	}
	fmt.Fprintf(log, "building InfluxDB %s into %s (a few minutes, once)\n", InfluxDBVersion, CacheDir())
	tmp, err := os.MkdirTemp(CacheDir(), "influxd-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "install", "-ldflags", "-X main.version="+InfluxDBVersion, InfluxDBModule)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	cmd.Dir = tmp
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building influxd: %w", err)
	}
	return moveInto(filepath.Join(tmp, "influxd"), InfluxDBBinary())
}
