// Package devenv installs and runs the real servers that Vigil's integration
// and end-to-end tests and the local demo use: InfluxDB 1.8.10 (Flux and the
// v2 API) and Grafana 10.0, both built from the Go module proxy and cached
// outside the work tree. Every server binds to 127.0.0.1 on a free port.
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
	GrafanaModule   = "github.com/grafana/grafana"
	GrafanaVersion  = "v1.9.2-0.20230609164553-81d85ce8028d" // 10.0.0-pre
	GrafanaRelease  = "10.0.0"                               // the release that commit became
	wireModule      = "github.com/google/wire/cmd/wire@v0.7.0"
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

// GrafanaBinary is the cached grafana server.
func GrafanaBinary() string { return filepath.Join(CacheDir(), "bin", "grafana-"+GrafanaVersion) }

// GrafanaHome is the writable copy of Grafana's module: its --homepath.
func GrafanaHome() string { return filepath.Join(CacheDir(), "grafana-"+GrafanaVersion) }

// Installed reports whether both servers are in the cache.
func Installed() bool {
	return exists(InfluxDBBinary()) && exists(GrafanaBinary()) && exists(filepath.Join(GrafanaHome(), "conf", "defaults.ini"))
}

// MissingError tells a test run which install step to run.
func MissingError() error {
	return fmt.Errorf("the test servers are not installed in %s: run `go run mage.go servers` (or the README's test command) first", CacheDir())
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

// InstallGrafana copies Grafana's module source into the cache (it doubles as
// the home path), generates its wire code and builds the server binary.
func InstallGrafana(ctx context.Context, log io.Writer) error {
	if exists(GrafanaBinary()) && exists(filepath.Join(GrafanaHome(), "conf", "defaults.ini")) {
		return nil
	}
	fmt.Fprintf(log, "building Grafana 10.0 into %s (about 6 minutes and 2.6 GB of modules, once)\n", CacheDir())
	if !exists(filepath.Join(GrafanaHome(), "conf", "defaults.ini")) {
		out, err := run(ctx, "", nil, "go", "mod", "download", "-json", GrafanaModule+"@"+GrafanaVersion)
		if err != nil {
			return fmt.Errorf("downloading grafana: %w\n%s", err, out)
		}
		dir, err := jsonField(out, "Dir")
		if err != nil {
			return err
		}
		tmp := GrafanaHome() + ".tmp"
		_ = os.RemoveAll(tmp)
		if err := copyTree(dir, tmp); err != nil {
			return fmt.Errorf("copying grafana source: %w", err)
		}
		if err := stream(ctx, tmp, log, "go", "run", wireModule, "gen", "-tags", "oss", "./pkg/server"); err != nil {
			return fmt.Errorf("generating grafana wire code: %w", err)
		}
		if err := os.Rename(tmp, GrafanaHome()); err != nil {
			return err
		}
	}
	tmpBin := GrafanaBinary() + ".tmp"
	if err := stream(ctx, GrafanaHome(), log, "go", "build", "-o", tmpBin, "./pkg/cmd/grafana"); err != nil {
		return fmt.Errorf("building grafana: %w", err)
	}
	return os.Rename(tmpBin, GrafanaBinary())
}
