//go:build mage

// Vigil's build, test and demo targets. Run them with `go run mage.go <target>`
// (`go run mage.go -l` lists them). The SDK's own targets are under sdk:.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/build"
	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"

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

// Test runs every test: the Go linters (Lint), the unit tests with the race
// detector, unit, integration (real InfluxDB) and end-to-end (the built
// plugin under the plugin host, Alertmanager, SMTP; once built with -race)
// tests, every fuzz target for 5 s, and the front-end
// typecheck, lint, API compatibility, jest tests and browser tests
// (Chromium). The Grafana-in-the-loop tests run only
// against a Grafana the user gives (GRAFANA_URL or VIGIL_GRAFANA).
func Test(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build, Servers, Chromium)
	if _, _, reason := devenv.UserGrafana(); reason != "" {
		fmt.Println("Grafana-in-the-loop tests (pkg/e2e/grafana, playwright/grafana) not run:", reason)
	}
	if err := Lint(); err != nil {
		return err
	}
	// The browser harness: pkg/e2e renders the dashboards' panels in it.
	if err := sh.RunV("npm", "run", "e2e:harness"); err != nil {
		return err
	}
	// The race detector over the unit tests; the end-to-end suite runs the
	// plugin built with -race under concurrent queries (TestRaceThroughHost).
	if err := sh.RunV("go", "test", "-race", "-short", "-count=1", "-timeout=20m", "./..."); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-count=1", "-timeout=40m", "./..."); err != nil {
		return err
	}
	if err := fuzz("5s"); err != nil {
		return err
	}
	for _, script := range []string{"typecheck", "lint", "compat", "test:ci"} {
		if err := sh.RunV("npm", "run", script); err != nil {
			return err
		}
	}
	return sh.RunV("npx", "playwright", "test") // the editors, field config and p-value axis specs
}

// fuzzTargets are the Go fuzz targets, by package.
var fuzzTargets = []struct{ pkg, name string }{
	{"./pkg/models", "FuzzParseQuery"},
	{"./pkg/models", "FuzzParseDuration"},
	{"./pkg/models", "FuzzLiveChannel"},
	{"./pkg/influx", "FuzzDecodeAnswer"},
	{"./pkg/influx", "FuzzGenericAnswer"},
	{"./pkg/influx", "FuzzNamesRoundTrip"}, // against a real InfluxDB
	{"./pkg/frames", "FuzzFluxCSV"},
	{"./pkg/influx", "FuzzReadOnlyInfluxQL"},
	{"./pkg/alerthistory", "FuzzParse"},
	{"./pkg/kafka", "FuzzDecode"},
}

// fuzz runs every fuzz target for d (go test fuzzes one target at a time).
// Go 1.26's fuzz coordinator can fail a target with a bare "context
// deadline exceeded" when -fuzztime ends while a worker is busy
// (golang/go#75804, fixed in Go 1.27): such a run, with no failing input
// written, is run again, at most twice; any other failure fails.
func fuzz(d string) error {
	for _, t := range fuzzTargets {
		for attempt := 1; ; attempt++ {
			var out strings.Builder
			cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", d, t.pkg)
			cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stdout, &out), io.MultiWriter(os.Stderr, &out)
			err := cmd.Run()
			if err == nil {
				break
			}
			deadlineRace := strings.Contains(out.String(), "context deadline exceeded") && !strings.Contains(out.String(), "Failing input written")
			if !deadlineRace || attempt == 3 {
				return fmt.Errorf("%s %s: %w", t.pkg, t.name, err)
			}
			fmt.Printf("%s %s: the fuzz coordinator's deadline race (golang/go#75804), no failing input: running it again\n", t.pkg, t.name)
		}
	}
	return nil
}

// Fuzz runs every fuzz target for VIGIL_FUZZTIME each (default 2m; the test
// command runs them 5s each). A failing input is saved under the package's
// testdata/fuzz and then runs in every go test.
func Fuzz(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Servers)
	d := os.Getenv("VIGIL_FUZZTIME")
	if d == "" {
		d = "2m"
	}
	return fuzz(d)
}

// Lint fails on Go code that is not gofmt-clean, and runs go vet and
// staticcheck (a tool in go.mod) over every package.
func Lint() error {
	// Files, not directories: gofmt walks directories, node_modules too.
	const files = `{{range .GoFiles}}{{$.Dir}}/{{.}} {{end}}{{range .TestGoFiles}}{{$.Dir}}/{{.}} {{end}}` +
		`{{range .XTestGoFiles}}{{$.Dir}}/{{.}} {{end}}{{range .IgnoredGoFiles}}{{$.Dir}}/{{.}} {{end}}`
	list, err := sh.Output("go", "list", "-f", files, "./...")
	if err != nil {
		return err
	}
	args := append([]string{"-l"}, strings.Fields(list)...)
	unformatted, err := sh.Output("gofmt", args...)
	if err != nil {
		return err
	}
	if unformatted != "" {
		return fmt.Errorf("not gofmt-clean (run gofmt -w):\n%s", unformatted)
	}
	if err := sh.RunV("go", "vet", "./..."); err != nil {
		return err
	}
	return sh.RunV("go", "tool", "staticcheck", "./...")
}

// Bench runs the benchmarks: the t-test analysis alone (ns/point), and end
// to end through QueryData and a real InfluxDB, as ratios measured in one
// run: InfluxDB's answer formats, the t-test against the raw read of the
// same day of points, 30 days of 1 Hz data in both read modes (latency and
// peak heap), the power query, 200 Live channels, and an alert rule over a
// fleet of 1,000 printers with and without kept state (about 10 minutes on
// its own), load through the plugin host (BenchmarkLoad: 300 panels at
// once, 200 Live channels for 10 minutes), and Kafka: line-protocol
// messages decoded and tested per second on one core, and the Live delay
// from a window's last message to its frame, and the soak (BenchmarkSoak:
// the load's mix, Kafka and queries that find no data for VIGIL_SOAK,
// default 30m, resident memory and goroutines each minute, their slopes
// after the warm-up). Compare runs with benchstat.
func Bench(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build, Servers)
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-count", "6", "./pkg/analysis"); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", "AnswerFormats|FullDayVsRaw|30Days|PowerFourYears|Live200Channels",
		"-benchtime", "3x", "-timeout", "60m", "./pkg/plugin"); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", "DecodeAndTest", "-cpu", "1", "-count", "6", "./pkg/kafka"); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", "KafkaLiveLatency", "-benchtime", "30x", "./pkg/e2e"); err != nil {
		return err
	}
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", "FleetRule", "-benchtime", "1x", "-timeout", "60m", "./pkg/plugin"); err != nil {
		return err
	}
	// Load through the plugin host: 300 panels at once, 200 Live channels
	// for VIGIL_LOAD_LIVE (default 10m).
	if err := sh.RunV("go", "test", "-run", "^$", "-bench", "Load", "-benchtime", "1x", "-timeout", "60m", "./pkg/e2e"); err != nil {
		return err
	}
	// The soak: the load's mix for VIGIL_SOAK (default 30m), memory and
	// goroutines each minute and their slopes after the warm-up.
	soak := 30 * time.Minute
	if v := os.Getenv("VIGIL_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("VIGIL_SOAK: %w", err)
		}
		soak = d
	}
	return sh.RunWithV(map[string]string{"VIGIL_SOAK": soak.String()}, "go", "test", "-run", "^$", "-bench", "Soak", "-benchtime", "1x",
		"-timeout", (soak + 30*time.Minute).String(), "./pkg/e2e")
}

// Eval measures detection quality: every detector at its defaults and at
// the best setting of its grid, on NAB's labelled series and the synthetic
// printer, household and server corpora, under NAB's three cost profiles
// (tools/eval). It prints the table and writes it to
// tools/eval/results/eval.{md,json} and into the README. The test command
// runs a subset of it (TestEvalSubset).
func Eval() error {
	return sh.RunV("go", "run", "./tools/eval/vigil-eval")
}

// Run starts Vigil locally: builds the plugin, starts InfluxDB, Alertmanager
// and an SMTP server on free loopback ports, loads the demo data, starts a
// real-time printer writer, runs the plugin under the plugin host as Grafana
// runs it, evaluates the provisioned rules, and shows in the terminal each
// field's windows from Vigil's Live streams, rule changes, notifications,
// emails and the history written, until Ctrl-C. With a Grafana given
// (GRAFANA_URL or VIGIL_GRAFANA, see the README) it is used too.
func Run(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build, Servers)
	// Ctrl-C reaches the demo too (same process group); it stops everything
	// it started and returns.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	return sh.RunV("go", "run", "./pkg/cmd/vigil-demo")
}
