package devenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// CheckFresh refuses a plugin binary in a module's dist/ (as
// pluginhost.Executable names it) that is older than any source it is built
// from: the .go and embedded files of the module's packages that ./pkg
// depends on, and go.mod and go.sum. Tests would otherwise test old code.
// A binary elsewhere (built by a test into a temporary folder) is not
// checked. Refusing is safer than rebuilding: several test binaries start
// the plugin at once.
func CheckFresh(binary string) error {
	dist := filepath.Dir(binary)
	root := filepath.Dir(dist)
	if filepath.Base(dist) != "dist" || !exists(filepath.Join(root, "go.mod")) {
		return nil
	}
	sources, err := PluginSources(root)
	if err != nil {
		return err
	}
	return checkFresh(binary, sources)
}

// PluginSources lists the files the plugin binary (package ./pkg of the
// module at root) is built from: go.mod, go.sum, and the Go, cgo and
// embedded files of the packages it depends on inside the module.
func PluginSources(root string) ([]string, error) {
	const format = `{{if and .Module .Module.Main}}{{$d := .Dir}}` +
		`{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .CgoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}` +
		`{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`
	cmd := exec.Command("go", "list", "-deps", "-f", format, "./pkg")
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps ./pkg: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	sources := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" {
			sources = append(sources, line)
		}
	}
	return sources, nil
}

// checkFresh fails when binary is missing or older than the newest source.
func checkFresh(binary string, sources []string) error {
	bin, err := os.Stat(binary)
	if err != nil {
		return fmt.Errorf("plugin executable: %w (run `go run mage.go build`)", err)
	}
	newest, newestPath := time.Time{}, ""
	for _, s := range sources {
		fi, err := os.Stat(s)
		if err != nil {
			return fmt.Errorf("plugin source: %w", err)
		}
		if fi.ModTime().After(newest) {
			newest, newestPath = fi.ModTime(), s
		}
	}
	if bin.ModTime().Before(newest) {
		return fmt.Errorf("%s is older than its sources (%s changed %s after it was built): run `go run mage.go build`",
			binary, newestPath, newest.Sub(bin.ModTime()).Round(time.Second))
	}
	return nil
}
