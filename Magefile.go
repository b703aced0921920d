//go:build mage

// Vigil's build, test and demo targets. Run them with `go run mage.go <target>`
// (`go run mage.go -l` lists them). The SDK's own targets are under sdk:.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"

	//mage:import sdk
	_ "github.com/grafana/grafana-plugin-sdk-go/build"
)

// Default target: build the plugin.
var Default = Build

func init() {
	// plugin.json lives at the top level, not in src/: it is the single source of truth.
	_ = build.SetBeforeBuildCallback(func(cfg build.Config) (build.Config, error) {
		cfg.PluginJSONPath = "."
		return cfg, nil
	})
}

// Build builds the backend for this machine and the front end into dist/.
func Build() {
	mg.SerialDeps(Backend, Frontend)
}

// Backend builds the backend binary for linux/amd64 into dist/.
func Backend() error {
	return build.Build{}.Linux()
}

// Frontend installs the npm packages when package-lock.json changed and runs webpack.
func Frontend() error {
	mg.Deps(NodeModules)
	return sh.RunV("npm", "run", "build")
}

// NodeModules runs `npm ci` unless node_modules matches package-lock.json.
func NodeModules() error {
	lock, err := os.Stat("package-lock.json")
	if err != nil {
		return err
	}
	installed, err := os.Stat(filepath.Join("node_modules", ".package-lock.json"))
	if err == nil && installed.ModTime().After(lock.ModTime()) {
		return nil
	}
	return sh.RunV("npm", "ci", "--no-audit", "--no-fund")
}

// Servers builds InfluxDB 1.8.10 into the cache (once) and installs
// Debian's Prometheus Alertmanager and aiosmtpd (apt-get, as root) unless
// they are there.
func Servers(ctx context.Context) error {
	if err := os.MkdirAll(devenv.CacheDir(), 0o755); err != nil {
		return err
	}
	if err := devenv.InstallInfluxDB(ctx, os.Stdout); err != nil {
		return err
	}
	return devenv.InstallNotifiers(ctx, os.Stdout)
}

// Chromium installs Debian's Chromium for the browser tests (apt-get, as
// root) unless it is there.
func Chromium() error {
	if _, err := os.Stat(chromiumPath()); err == nil {
		return nil
	}
	if err := sh.RunV("apt-get", "update", "-qq"); err != nil {
		return err
	}
	env := map[string]string{"DEBIAN_FRONTEND": "noninteractive"}
	if err := sh.RunWithV(env, "apt-get", "install", "-y", "-qq", "chromium"); err != nil {
		// dpkg can stop half-way on a fresh machine; finishing it is the known fix.
		return sh.RunWithV(env, "apt-get", "-f", "install", "-y", "-qq")
	}
	return nil
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// Test runs every test: Go vet, unit, integration (real InfluxDB) and
// end-to-end (the built plugin under the plugin host, Alertmanager, SMTP)
// tests, and the front-end typecheck, lint, API compatibility, jest tests
// and browser tests (Chromium). The Grafana-in-the-loop tests run only
// against a Grafana the user gives (GRAFANA_URL or VIGIL_GRAFANA).
func Test(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build, Servers, Chromium)
	if _, _, reason := devenv.UserGrafana(); reason != "" {
		fmt.Println("Grafana-in-the-loop tests (pkg/e2e/grafana, playwright/grafana) not run:", reason)
	}
	if err := sh.RunV("go", "vet", "./..."); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-count=1", "-timeout=40m", "./..."); err != nil {
		return err
	}
	for _, script := range []string{"typecheck", "lint", "compat", "test:ci", "e2e"} {
		if err := sh.RunV("npm", "run", script); err != nil {
			return err
		}
	}
	return nil
}

// Bench runs the benchmarks: the t-test analysis alone (ns/point), and end
// to end through QueryData and a real InfluxDB: the t-test against the raw
// Flux read of the same day of points, and 30 days of 1 Hz data in both read
// modes (latency and peak heap). Compare runs with benchstat.
func Bench(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Servers)
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-count", "6", "./pkg/analysis"); err != nil {
		return err
	}
	return sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "3x", "-timeout", "60m", "./pkg/plugin")
}

// Run starts Vigil locally: builds the plugin, starts InfluxDB and Grafana on
// free loopback ports with everything provisioned, loads the demo data,
// starts a real-time printer writer, prints a summary and keeps it all
// running until Ctrl-C.
func Run(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build, Servers)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := filepath.Join(devenv.CacheDir(), "demo")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, sub := range []string{"influxdb", "grafana"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	influx, err := devenv.StartInfluxDB(ctx, filepath.Join(dir, "influxdb"))
	if err != nil {
		return err
	}
	defer influx.Stop()
	for _, db := range []string{"printer", "house"} {
		if err := influx.CreateDatabase(ctx, db); err != nil {
			return err
		}
	}
	printer, err := devenv.StartNotificationPrinter(os.Stdout)
	if err != nil {
		return err
	}
	defer printer.Stop()
	grafana, err := devenv.StartGrafana(ctx, devenv.GrafanaOptions{
		Dir:          filepath.Join(dir, "grafana"),
		PluginID:     pluginID(),
		PluginDist:   "dist",
		Provisioning: "provisioning",
		Dashboards:   "dashboards",
		Env:          devenv.ProvisioningEnv(influx, "printer/autogen", printer.URL),
	})
	if err != nil {
		return err
	}
	defer grafana.Stop()

	var health struct{ Status, Message string }
	err = grafana.API(ctx, "GET", "/api/datasources/uid/"+devenv.DatasourceUID+"/health", nil, &health)
	if err != nil {
		return fmt.Errorf("the provisioned data source is not healthy: %w", err)
	}

	// Demo data: a day of printer data ending now (anomalies at 1 h, 8 h and
	// 12 h into it), 30 days of synthetic household data (or the UCI file,
	// see the README), and a real-time printer writer.
	fmt.Println("loading demo data...")
	pw := loader.NewWriter(influx.URL, influx.Token(), "printer/autogen")
	if err := loader.Printer(ctx, pw, time.Now().Add(-24*time.Hour).Truncate(time.Second), datagen.PrinterPoints, 1); err != nil {
		return err
	}
	pw.Report(os.Stdout, "  printer, 24 h at 1 Hz")
	hw := loader.NewWriter(influx.URL, influx.Token(), "house/autogen")
	if err := loader.Household(ctx, hw, time.Now().Add(-30*24*time.Hour).Truncate(time.Minute), 30*1440, 1); err != nil {
		return err
	}
	hw.Report(os.Stdout, "  household, 30 days of minutes")
	_ = hw.Close(ctx)
	realtime := make(chan error, 1)
	go func() {
		realtime <- loader.PrinterRealtime(ctx, pw, 2, func(f string, a ...any) { fmt.Printf(f+"\n", a...) })
	}()
	grafana.WaitForRules(ctx, time.Minute)

	fmt.Printf(`
Vigil is running (everything on 127.0.0.1; data in %s).

  Grafana     %s   (login admin / admin)
  Data source %s: %s
  InfluxDB    %s   (token %s; databases printer, house)
  Logs        %s
  Writer      one printer point per second; every 15 minutes one field runs anomalous for 5 minutes
  Alerts      notifications to the provisioned webhook are printed here

`, dir, grafana.URL, health.Status, health.Message, influx.URL, influx.Token(), grafana.LogPath)
	if err := grafana.Summary(ctx, os.Stdout); err != nil {
		fmt.Println("summary:", err)
	}
	fmt.Println("\nPress Ctrl-C to stop the writer, Grafana and InfluxDB.")
	<-ctx.Done()
	<-realtime
	_ = pw.Close(context.Background())
	fmt.Println("\nstopping Grafana and InfluxDB")
	return nil
}

// pluginID reads the plugin id from plugin.json, its single source of truth.
func pluginID() string {
	raw, err := os.ReadFile("plugin.json")
	if err != nil {
		panic(err)
	}
	var m struct{ ID string }
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(fmt.Sprintf("plugin.json: %v", err))
	}
	return m.ID
}
