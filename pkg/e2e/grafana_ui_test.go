package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
)

// TestGrafanaUI runs the @grafana/plugin-e2e specs of playwright/grafana
// against this Grafana, whose web UI `go run mage.go servers` built: Vigil as
// a user meets it, in Debian's Chromium.
func TestGrafanaUI(t *testing.T) {
	needServers(t)
	if !devenv.GrafanaUIBuilt() {
		t.Fatal("Grafana's web UI is not built: run `go run mage.go servers`")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npx", "playwright", "test", "-c", "playwright.grafana.config.ts")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"GRAFANA_URL="+grafana.URL,
		// plugin-e2e picks selectors by version; this build reports a pre-release.
		"GRAFANA_VERSION="+devenv.GrafanaRelease,
		"VIGIL_INFLUXDB_TOKEN="+influxDB.Token())
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the Grafana UI specs failed (screenshots in %s): %v", filepath.Join(root, "test-results", "grafana"), err)
	}
}
