package grafana

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
)

// TestGrafanaUI runs the @grafana/plugin-e2e specs of playwright/grafana
// against the user's Grafana: Vigil as a user meets it, in Debian's Chromium.
func TestGrafanaUI(t *testing.T) {
	needServers(t)
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npx", "playwright", "test", "-c", "playwright.grafana.config.ts")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GRAFANA_URL="+grafana.URL)
	if influxDB != nil {
		cmd.Env = append(cmd.Env, "VIGIL_INFLUXDB_TOKEN="+influxDB.Token())
	}
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the Grafana UI specs failed (screenshots in %s): %v", filepath.Join(root, "test-results", "grafana"), err)
	}
}
