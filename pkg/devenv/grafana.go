package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Grafana server is never downloaded or built here (Grafana is AGPL-3.0
// and our module list forbids fetching it); the Grafana-in-the-loop tests
// and the demo use one only when the user gives one: GRAFANA_URL (a running
// Grafana with Vigil installed and provisioned, e.g. docker compose's) or
// VIGIL_GRAFANA (the path of a Grafana binary, which StartGrafana runs with
// Vigil's dist/ and provisioning/).

// UserGrafana describes the Grafana the user gave, if any: url is set for a
// running one, binary for one to start; reason says why there is none.
func UserGrafana() (url, binary, reason string) {
	if u := os.Getenv("GRAFANA_URL"); u != "" {
		return u, "", ""
	}
	if b := os.Getenv("VIGIL_GRAFANA"); b != "" {
		return "", b, ""
	}
	return "", "", "no Grafana given (set GRAFANA_URL to a running Grafana with Vigil provisioned, or VIGIL_GRAFANA to a Grafana binary; see the README)"
}

// grafanaHome is a Grafana binary's --homepath: $VIGIL_GRAFANA_HOME, else the
// directory above bin/ (as in Grafana's release archives and packages).
func grafanaHome(binary string) string {
	if h := os.Getenv("VIGIL_GRAFANA_HOME"); h != "" {
		return h
	}
	return filepath.Dir(filepath.Dir(binary))
}

// GrafanaOptions describe one Grafana server run.
type GrafanaOptions struct {
	// Binary is the user's Grafana server binary (VIGIL_GRAFANA).
	Binary string
	// Dir holds the run's data, logs, plugins and provisioning copy.
	Dir string
	// PluginID and PluginDist: the built plugin (dist/) to load unsigned.
	PluginID   string
	PluginDist string
	// Provisioning is the project's provisioning directory; it is copied so
	// that a run (or a test) can add files without touching the work tree.
	Provisioning string
	// Dashboards is the folder of dashboard JSON files (VIGIL_DASHBOARDS_DIR).
	Dashboards string
	// Env is passed to Grafana, which expands $VARS in provisioning files.
	Env []string
}

// Grafana is a running Grafana server with the admin user admin/admin.
type Grafana struct {
	URL      string
	User     string
	Password string
	// ProvisioningDir is the run's copy of the provisioning files.
	ProvisioningDir string
	LogPath         string
	proc            *process
}

// StartGrafana starts the user's Grafana binary on a free loopback port with
// the plugin loaded and the provisioning applied, and waits until its API
// answers.
func StartGrafana(ctx context.Context, o GrafanaOptions) (*Grafana, error) {
	if !exists(o.Binary) {
		return nil, fmt.Errorf("no Grafana binary at %s", o.Binary)
	}
	if !exists(filepath.Join(o.PluginDist, "plugin.json")) {
		return nil, fmt.Errorf("no built plugin in %s: run `go run mage.go build` first", o.PluginDist)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	haPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	g := &Grafana{
		URL:             "http://" + loopback(port),
		User:            "admin",
		Password:        "admin",
		ProvisioningDir: filepath.Join(o.Dir, "provisioning"),
		LogPath:         filepath.Join(o.Dir, "grafana.log"),
	}
	pluginsDir := filepath.Join(o.Dir, "plugins")
	if err := os.RemoveAll(pluginsDir); err != nil {
		return nil, err
	}
	if err := copyTree(o.PluginDist, filepath.Join(pluginsDir, o.PluginID)); err != nil {
		return nil, fmt.Errorf("copying the plugin: %w", err)
	}
	if err := os.RemoveAll(g.ProvisioningDir); err != nil {
		return nil, err
	}
	if err := copyTree(o.Provisioning, g.ProvisioningDir); err != nil {
		return nil, fmt.Errorf("copying provisioning: %w", err)
	}
	for _, sub := range []string{"datasources", "dashboards", "alerting", "plugins", "notifiers", "access-control"} {
		if err := os.MkdirAll(filepath.Join(g.ProvisioningDir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	ini := fmt.Sprintf(`[server]
http_addr = 127.0.0.1
http_port = %d
root_url = %s/
[paths]
data = %s
logs = %s
plugins = %s
provisioning = %s
[security]
admin_user = %s
admin_password = %s
[users]
default_theme = dark
[auth]
login_maximum_inactive_lifetime_duration = 7d
[analytics]
reporting_enabled = false
check_for_updates = false
check_for_plugin_updates = false
feedback_links_enabled = false
[news]
news_feed_enabled = false
[plugins]
allow_loading_unsigned_plugins = %s
[log]
mode = console
level = info
[unified_alerting]
enabled = true
min_interval = 10s
alertmanager_config_poll_interval = 1s
ha_listen_address = %s
ha_advertise_address = %s
[alerting]
enabled = false
`, port, g.URL, filepath.Join(o.Dir, "data"), filepath.Join(o.Dir, "logs"), pluginsDir, g.ProvisioningDir,
		g.User, g.Password, o.PluginID, loopback(haPort), loopback(haPort))
	iniPath := filepath.Join(o.Dir, "custom.ini")
	if err := os.WriteFile(iniPath, []byte(ini), 0o644); err != nil {
		return nil, err
	}
	dashboards, err := filepath.Abs(o.Dashboards)
	if err != nil {
		return nil, err
	}
	env := append([]string{"VIGIL_GRAFANA_URL=" + g.URL, "VIGIL_RECEIVER_TOKEN=" + receiverTokenPlaceholder,
		"VIGIL_DASHBOARDS_DIR=" + dashboards}, o.Env...)
	p, err := startProcess(o.Binary, []string{"server", "--homepath", grafanaHome(o.Binary), "--config", iniPath}, env, g.LogPath)
	if err != nil {
		return nil, err
	}
	g.proc = p
	if err := waitHealthy(ctx, g.URL+"/api/health", p.exited, 120*time.Second); err != nil {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("grafana: %w (log: %s)", err, g.LogPath)
	}
	if err := g.issueReceiverToken(ctx); err != nil {
		g.Stop()
		return nil, fmt.Errorf("grafana: service-account token for the alert-history receiver: %w", err)
	}
	return g, nil
}

// issueReceiverToken gives the alert-history contact point a real
// credential: a service account with the Editor role (the receiver refuses
// a Viewer) and its token are created through the API, the
// run's copy of the alerting provisioning gets the token in place of the
// placeholder, and Grafana reloads it. Grafana cannot issue a token before it
// runs, which is why provisioning starts with a placeholder.
func (g *Grafana) issueReceiverToken(ctx context.Context) error {
	var sa struct{ ID int64 }
	if err := g.API(ctx, "POST", "/api/serviceaccounts", map[string]any{"name": "vigil-alert-history", "role": "Editor"}, &sa); err != nil {
		return err
	}
	var tok struct{ Key string }
	if err := g.API(ctx, "POST", fmt.Sprintf("/api/serviceaccounts/%d/tokens", sa.ID), map[string]any{"name": "alert-history-receiver"}, &tok); err != nil {
		return err
	}
	dir := filepath.Join(g.ProvisioningDir, "alerting")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if fixed := bytes.ReplaceAll(raw, []byte("$VIGIL_RECEIVER_TOKEN"), []byte(tok.Key)); !bytes.Equal(fixed, raw) {
			if err := os.WriteFile(path, fixed, 0o600); err != nil {
				return err
			}
		}
	}
	return g.API(ctx, "POST", "/api/admin/provisioning/alerting/reload", nil, nil)
}

// Stop shuts Grafana down, which also stops the plugin process it started.
func (g *Grafana) Stop() {
	if g.proc != nil {
		g.proc.stop(15 * time.Second)
	}
}

// API calls Grafana's HTTP API as the admin user. A non-2xx answer is an
// *APIError carrying the status and body; out (if not nil) receives the JSON.
func (g *Grafana) API(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.URL+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(g.User, g.Password)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, raw, err)
		}
	}
	return nil
}

// APIError is a non-2xx answer from Grafana's API.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// QueryResponse is /api/ds/query's answer: a result per refId.
type QueryResponse struct {
	Results map[string]QueryResult `json:"results"`
}

// QueryResult is one query's result.
type QueryResult struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
	Frames []struct {
		Schema struct {
			Meta struct {
				Type                string `json:"type"`
				ExecutedQueryString string `json:"executedQueryString"`
			} `json:"meta"`
			Fields []struct {
				Name   string            `json:"name"`
				Type   string            `json:"type"`
				Labels map[string]string `json:"labels"`
			} `json:"fields"`
		} `json:"schema"`
		Data struct {
			Values [][]any `json:"values"`
		} `json:"data"`
	} `json:"frames"`
}

// DSQuery runs queries on the Vigil data source through /api/ds/query, as a
// panel does (the data source, a 1 s interval and 1,000 points filled in
// where missing). Grafana answers with a non-2xx status when a query fails,
// with every query's result in the body: that is a result, not an error.
func (g *Grafana) DSQuery(ctx context.Context, from, to time.Time, queries ...map[string]any) (QueryResponse, error) {
	for _, q := range queries {
		q["datasource"] = map[string]string{"uid": DatasourceUID, "type": "vigil-anomaly-datasource"}
		if _, ok := q["intervalMs"]; !ok {
			q["intervalMs"] = 1000
		}
		if _, ok := q["maxDataPoints"]; !ok {
			q["maxDataPoints"] = 1000
		}
	}
	body := map[string]any{"from": fmt.Sprint(from.UnixMilli()), "to": fmt.Sprint(to.UnixMilli()), "queries": queries}
	var out QueryResponse
	err := g.API(ctx, "POST", "/api/ds/query", body, &out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && json.Unmarshal([]byte(apiErr.Body), &out) == nil && out.Results != nil {
		return out, nil
	}
	return out, err
}

// ConnectGrafana is a running Grafana the user gave (GRAFANA_URL), with the
// admin credentials from GRAFANA_ADMIN_USER and GRAFANA_ADMIN_PASSWORD
// (default admin/admin, as @grafana/plugin-e2e reads them).
func ConnectGrafana(url string) *Grafana {
	g := &Grafana{URL: strings.TrimRight(url, "/"), User: "admin", Password: "admin"}
	if u := os.Getenv("GRAFANA_ADMIN_USER"); u != "" {
		g.User = u
	}
	if p := os.Getenv("GRAFANA_ADMIN_PASSWORD"); p != "" {
		g.Password = p
	}
	return g
}
