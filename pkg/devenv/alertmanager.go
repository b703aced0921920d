package devenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerteval"
)

// AlertmanagerBinary is Debian's prometheus-alertmanager (Apache-2.0), the
// notification engine that replaces Grafana's in tests and the demo.
const AlertmanagerBinary = "/usr/bin/prometheus-alertmanager"

// systemPython is Debian's interpreter, which sees Debian's python3-aiosmtpd
// (a python3 earlier on PATH, e.g. pyenv's, does not).
const systemPython = "/usr/bin/python3"

// KcatBinary is Debian's kcat (librdkafka), the independent Kafka client
// that produces the integration tests' messages.
const KcatBinary = "/usr/bin/kcat"

// InstallNotifiers installs Debian's prometheus-alertmanager,
// python3-aiosmtpd and kcat with apt-get (as root) unless all are there already.
func InstallNotifiers(ctx context.Context, log io.Writer) error {
	if exists(AlertmanagerBinary) && exists(KcatBinary) && exec.CommandContext(ctx, systemPython, "-c", "import aiosmtpd").Run() == nil {
		return nil
	}
	fmt.Fprintln(log, "installing prometheus-alertmanager, python3-aiosmtpd and kcat with apt-get")
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	if err := apt("update"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	pkgs := []string{"install", "-y", "--no-install-recommends", "prometheus-alertmanager", "python3-aiosmtpd", "kcat"}
	if err := apt(pkgs...); err != nil {
		// A dpkg step that failed half-way is finished by -f install.
		fmt.Fprintf(log, "apt-get install failed (%v); retrying after apt-get -f install\n", err)
		if err := apt("-f", "install", "-y"); err != nil {
			return fmt.Errorf("apt-get -f install: %w", err)
		}
		if err := apt(pkgs...); err != nil {
			return fmt.Errorf("apt-get install prometheus-alertmanager python3-aiosmtpd kcat: %w", err)
		}
	}
	// The package's service is not wanted: tests start their own instances.
	if !exists(AlertmanagerBinary) {
		return fmt.Errorf("%s is missing after installing prometheus-alertmanager", AlertmanagerBinary)
	}
	return nil
}

// AlertmanagerConfig is what StartAlertmanager routes alerts to: one
// receiver with a webhook (Vigil's alert-history route) and email.
type AlertmanagerConfig struct {
	// WebhookURL receives every notification (Alertmanager's webhook payload version 4).
	WebhookURL string
	// WebhookToken is sent as "Authorization: Bearer <token>" (Grafana's
	// resource route needs a service-account token). Written only to the
	// config file (mode 0600), never logged.
	WebhookToken string
	// PostURLs get the same notifications without credentials (Kapacitor's
	// .post(): the alert as JSON to an HTTP endpoint).
	PostURLs []string
	// SMTPAddr is the smarthost (host:port, e.g. SMTPServer.Addr); empty
	// leaves email out.
	SMTPAddr string
	// EmailTo and EmailFrom default to oncall@vigil.test and alertmanager@vigil.test.
	EmailTo, EmailFrom string
	// RepeatInterval re-sends a still-firing group; default 4h (the seed's policy).
	RepeatInterval time.Duration
}

// EmailText is the plain-text body of the email: per alert its status,
// alertname and the seed's Kapacitor fields (id, message, details, value).
// The HTML part is Alertmanager's default template.
const EmailText = `{{ range .Alerts }}{{ .Status | toUpper }} {{ .Labels.alertname }}
id: {{ .Annotations.id }}
message: {{ .Annotations.message }}
details: {{ .Annotations.details }}
value: {{ .Annotations.value }}
startsAt: {{ .StartsAt.UTC.Format "2006-01-02T15:04:05Z07:00" }}
{{ end }}`

// Alertmanager is a running prometheus-alertmanager on 127.0.0.1.
type Alertmanager struct {
	URL     string
	LogPath string
	dir     string
	proc    *process
}

// PostableAlert is one alert of POST /api/v2/alerts (alerteval builds them
// as Grafana's sender does). A zero EndsAt leaves the alert firing until
// resolve_timeout; an EndsAt in the past resolves it.
type PostableAlert = alerteval.PostableAlert

// alertmanagerYAML builds the configuration. JSON is valid YAML, and
// encoding/json quotes URLs, tokens and templates safely.
func alertmanagerYAML(cfg AlertmanagerConfig) ([]byte, error) {
	if cfg.WebhookURL == "" {
		return nil, errors.New("alertmanager: a webhook URL is required")
	}
	repeat := cfg.RepeatInterval
	if repeat <= 0 {
		repeat = 4 * time.Hour
	}
	webhook := map[string]any{"url": cfg.WebhookURL, "send_resolved": true}
	if cfg.WebhookToken != "" {
		webhook["http_config"] = map[string]any{"authorization": map[string]any{"type": "Bearer", "credentials": cfg.WebhookToken}}
	}
	webhooks := []any{webhook}
	for _, u := range cfg.PostURLs {
		webhooks = append(webhooks, map[string]any{"url": u, "send_resolved": true})
	}
	receiver := map[string]any{"name": "vigil", "webhook_configs": webhooks}
	global := map[string]any{"resolve_timeout": "5m"}
	if cfg.SMTPAddr != "" {
		to, from := cfg.EmailTo, cfg.EmailFrom
		if to == "" {
			to = "oncall@vigil.test"
		}
		if from == "" {
			from = "alertmanager@vigil.test"
		}
		global["smtp_smarthost"] = cfg.SMTPAddr
		global["smtp_from"] = from
		global["smtp_hello"] = "localhost"
		global["smtp_require_tls"] = false
		// Email's send_resolved defaults to false; Kapacitor mailed recoveries too.
		receiver["email_configs"] = []any{map[string]any{"to": to, "send_resolved": true, "text": EmailText}}
	}
	conf := map[string]any{
		"global": global,
		"route": map[string]any{
			"receiver":        "vigil",
			"group_by":        []string{"alertname"},
			"group_wait":      "1s",
			"group_interval":  "1s",
			"repeat_interval": promDuration(repeat),
		},
		"receivers": []any{receiver},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// promDuration writes d as Prometheus' duration syntax, in milliseconds.
func promDuration(d time.Duration) string {
	if ms := d.Milliseconds(); ms > 0 {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	return "1ms"
}

// StartAlertmanager writes dir/alertmanager.yml and starts Alertmanager
// with its storage in dir, on a free loopback port, clustering off.
func StartAlertmanager(ctx context.Context, dir string, cfg AlertmanagerConfig) (*Alertmanager, error) {
	if !exists(AlertmanagerBinary) {
		return nil, fmt.Errorf("%s is not installed: run `go run mage.go test` (it installs Debian's prometheus-alertmanager) or apt-get install prometheus-alertmanager", AlertmanagerBinary)
	}
	conf, err := alertmanagerYAML(cfg)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(configPath, conf, 0o600); err != nil {
		return nil, err
	}
	storage := filepath.Join(dir, "data")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	am := &Alertmanager{URL: "http://" + loopback(port), LogPath: filepath.Join(dir, "alertmanager.log"), dir: dir}
	p, err := startProcess(AlertmanagerBinary, []string{
		"--config.file=" + configPath,
		"--storage.path=" + storage,
		"--web.listen-address=" + loopback(port),
		"--cluster.listen-address=", // empty: no gossip port, no peers
		"--log.level=debug",         // notify attempts and retries are logged at debug
	}, nil, am.LogPath)
	if err != nil {
		return nil, err
	}
	am.proc = p
	if err := waitHealthy(ctx, am.URL+"/-/ready", p.exited, 30*time.Second); err != nil {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("alertmanager: %w (log: %s)", err, am.LogPath)
	}
	return am, nil
}

// Post sends alerts to POST /api/v2/alerts, as Prometheus or Grafana would.
func (a *Alertmanager) Post(ctx context.Context, alerts []PostableAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("alertmanager POST /api/v2/alerts: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Metric sums the samples of a metric on /metrics whose labels include all
// of labels (e.g. alertmanager_notification_requests_failed_total with
// integration=webhook); a metric with no such sample is 0.
func (a *Alertmanager) Metric(ctx context.Context, name string, labels map[string]string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("alertmanager /metrics: HTTP %d", resp.StatusCode)
	}
	return sumMetric(resp.Body, name, labels)
}

// sumMetric reads Prometheus' text exposition format: lines
// `name{k="v",...} value` (or `name value`), comments start with #.
func sumMetric(r io.Reader, name string, labels map[string]string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var set string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				return 0, fmt.Errorf("malformed metric line %q", line)
			}
			set, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric whose name starts with this one
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(","+set+",", ","+k+"="+strconv.Quote(v)+",") {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("malformed metric line %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// Log is Alertmanager's log so far (for assertions and failure messages).
func (a *Alertmanager) Log() string {
	b, _ := os.ReadFile(a.LogPath)
	return string(b)
}

// Stop shuts Alertmanager down.
func (a *Alertmanager) Stop() {
	if a.proc != nil {
		a.proc.stop(10 * time.Second)
	}
}
