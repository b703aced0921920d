// Package notify checks notifications and alert history end to end with
// real parts, as Grafana's alerting did before: Prometheus Alertmanager
// (Debian's) receives alerts on its API and routes them to Vigil's
// alert-history receiver (the plugin's resource route, served by the plugin
// host as Grafana serves it, with a bearer token) and to email through a
// real SMTP server (python3-aiosmtpd); the history is read back from
// InfluxDB with InfluxQL, independently of the plugin.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/e2e/scenario"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

const dsUID = "vigil-notify"

var (
	influxDB *devenv.InfluxDB
	host     *pluginhost.Host
	baseURL  string // the host's Grafana-style resource route
	token    string // the "service-account token" the route requires
	workDir  string
	dbSeq    atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "notify tests:", err); return 1 }
	root, err := scenario.RepoRoot()
	if err != nil {
		return fail(err)
	}
	workDir, err = os.MkdirTemp("", "vigil-notify-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(workDir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := os.MkdirAll(filepath.Join(workDir, "influxdb"), 0o755); err != nil {
		return fail(err)
	}
	if influxDB, err = devenv.StartInfluxDB(ctx, filepath.Join(workDir, "influxdb")); err != nil {
		return fail(err)
	}
	defer influxDB.Stop()
	if err := influxDB.CreateDatabase(ctx, "notify"); err != nil {
		return fail(err)
	}
	host, err = pluginhost.Start(ctx, pluginhost.Options{Executable: pluginhost.Executable(root), LogPath: filepath.Join(workDir, "plugin.log")})
	if err != nil {
		return fail(err)
	}
	defer host.Stop()
	host.AddDatasource(backend.DataSourceInstanceSettings{
		ID: 1, UID: dsUID, Name: "Vigil", Type: "vigil-anomaly-datasource", URL: influxDB.URL,
		// A short timeout: a write to a stopped InfluxDB fails fast either way.
		JSONData:                json.RawMessage(`{"defaultBucket":"notify/autogen","timeout":5}`),
		DecryptedSecureJSONData: map[string]string{"token": influxDB.Token()},
	})
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	token = "glsa_" + hex.EncodeToString(buf)
	if baseURL, err = host.ServeResources(token); err != nil {
		return fail(err)
	}
	code := m.Run()
	if code != 0 {
		if b, err := os.ReadFile(filepath.Join(workDir, "plugin.log")); err == nil {
			fmt.Fprintf(os.Stderr, "plugin log (last 4 KiB):\n%s\n", tail(string(b), 4096))
		}
	}
	return code
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// env is one test's notification pipeline: its own database (so tests and
// -count=N runs never see each other's points), SMTP server and
// Alertmanager, whose webhook posts to the receiver through the host.
type env struct {
	db   string
	smtp *devenv.SMTPServer
	am   *devenv.Alertmanager
}

func newEnv(t *testing.T, repeat time.Duration) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: starts InfluxDB, the plugin, Alertmanager and an SMTP server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newDatabase(t)
	dir := t.TempDir()
	var err error
	if e.smtp, err = devenv.StartSMTP(ctx, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.smtp.Stop)
	e.am, err = devenv.StartAlertmanager(ctx, dir, devenv.AlertmanagerConfig{
		WebhookURL:     e.receiverURL(),
		WebhookToken:   token,
		SMTPAddr:       e.smtp.Addr,
		RepeatInterval: repeat,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.am.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("alertmanager log (last 4 KiB):\n%s", tail(e.am.Log(), 4096))
		}
	})
	return e
}

// newDatabase gives a test its own database, and a data source whose
// alert-history target is there (the receiver writes nowhere else).
func newDatabase(t *testing.T) *env {
	t.Helper()
	n := dbSeq.Add(1)
	e := &env{db: fmt.Sprintf("notify%d", n)}
	if err := influxDB.CreateDatabase(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	host.AddDatasource(backend.DataSourceInstanceSettings{
		ID: 1 + n, UID: e.uid(), Name: "Vigil " + e.db, Type: "vigil-anomaly-datasource", URL: influxDB.URL,
		JSONData:                json.RawMessage(fmt.Sprintf(`{"defaultBucket":"notify/autogen","alertHistoryBucket":"%s/autogen","timeout":5}`, e.db)),
		DecryptedSecureJSONData: map[string]string{"token": influxDB.Token()},
	})
	return e
}

// uid is the test's data source.
func (e *env) uid() string { return dsUID + "-" + e.db }

// receiverURL is the webhook URL a Grafana contact point would hold.
func (e *env) receiverURL() string {
	return fmt.Sprintf("%s/api/datasources/uid/%s/resources/alert-history", baseURL, e.uid())
}

// The seed's Power consumption rule (provisioning/alerting/house.yaml): its
// labels and annotations, the value annotation as Grafana fills it.
func seedAlert(alertname string, startsAt time.Time) devenv.PostableAlert {
	return devenv.PostableAlert{
		Labels: map[string]string{"alertname": alertname, "severity": "critical", "triggerType": "threshold"},
		Annotations: map[string]string{
			"id":      "Power_Consumption_Rule",
			"message": "Alert: power consumption",
			"details": "The error of power consumption is greater than the threshold",
			"value":   "27.97",
		},
		StartsAt:     startsAt,
		GeneratorURL: "http://127.0.0.1/alerting/grafana/vigil-power-consumption/view",
	}
}

// historyRow is the point Vigil must write for seedAlert (InfluxQL's
// SELECT * columns; numbers as InfluxDB returns them).
func historyRow(alertname, level string, at time.Time, duration time.Duration) map[string]string {
	return map[string]string{
		"time":        fmt.Sprint(at.UnixNano()),
		"alertID":     alertname + ":severity=critical,triggerType=threshold",
		"alertName":   alertname,
		"alertname":   alertname,
		"level":       level,
		"severity":    "critical",
		"triggerType": "threshold",
		"message":     "Alert: power consumption",
		"duration":    fmt.Sprint(duration.Nanoseconds()),
		"value":       "27.97",
	}
}

// emailText is the text body Alertmanager renders (devenv.EmailText) for seedAlert.
func emailText(status, alertname string, startsAt time.Time) string {
	return fmt.Sprintf("%s %s\nid: Power_Consumption_Rule\nmessage: Alert: power consumption\n"+
		"details: The error of power consumption is greater than the threshold\nvalue: 27.97\nstartsAt: %s\n",
		status, alertname, startsAt.UTC().Format(time.RFC3339))
}

// history reads every point of the test's alerts measurement, oldest first,
// straight from InfluxDB.
func (e *env) history(t *testing.T) []map[string]string {
	t.Helper()
	c := influx.NewClient(influx.Config{URL: influxDB.URL, Token: influxDB.Token()})
	defer c.Close()
	var rows []map[string]string
	err := c.InfluxQL(context.Background(), e.db, fmt.Sprintf(`SELECT * FROM "%s"."autogen"."alerts"`, e.db), func(s influx.Series) error {
		for _, v := range s.Values {
			row := map[string]string{}
			for i, col := range s.Columns {
				if v[i] != nil {
					row[col] = fmt.Sprint(v[i])
				}
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i]["time"] < rows[j]["time"] })
	return rows
}

func (e *env) emails(t *testing.T) []devenv.Email {
	t.Helper()
	m, err := e.smtp.Messages()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) metric(t *testing.T, name, integration string) float64 {
	t.Helper()
	v, err := e.am.Metric(context.Background(), name, map[string]string{"integration": integration})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func post(t *testing.T, am *devenv.Alertmanager, alerts ...devenv.PostableAlert) {
	t.Helper()
	if err := am.Post(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
}

func checkEmail(t *testing.T, m devenv.Email, subjectPrefix, text string) {
	t.Helper()
	if !strings.HasPrefix(m.Subject, subjectPrefix) || !reflect.DeepEqual(m.To, []string{"oncall@vigil.test"}) {
		t.Errorf("email subject %q (want prefix %q), to %v", m.Subject, subjectPrefix, m.To)
	}
	if got := strings.ReplaceAll(m.Text, "\r\n", "\n"); got != text {
		t.Errorf("email text:\n%s\nwant:\n%s", got, text)
	}
	// Alertmanager's default HTML template lists the annotations too.
	for _, s := range []string{"Power_Consumption_Rule", "Alert: power consumption", "The error of power consumption is greater than the threshold"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("the email's HTML part lacks %q", s)
		}
	}
}

// A firing alert gives exactly one Kapacitor-shaped history point and one
// email carrying the seed's id, message and details.
func TestFiringWritesOnePointAndOneEmail(t *testing.T) {
	e := newEnv(t, 4*time.Hour)
	start := time.Now().UTC().Add(-30 * time.Second).Truncate(time.Second)
	post(t, e.am, seedAlert("Power consumption", start))
	scenario.WaitFor(t, 30*time.Second, "the history point and the email", func() bool {
		return len(e.history(t)) > 0 && len(e.emails(t)) > 0
	})
	// Each integration was notified exactly once, and delivered what it got.
	scenario.WaitFor(t, 10*time.Second, "Alertmanager to count both notifications", func() bool {
		return e.metric(t, "alertmanager_notifications_total", "webhook") == 1 && e.metric(t, "alertmanager_notifications_total", "email") == 1
	})
	if got, want := e.history(t), []map[string]string{historyRow("Power consumption", "CRITICAL", start, 0)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history:\n got %v\nwant %v", got, want)
	}
	mails := e.emails(t)
	if len(mails) != 1 {
		t.Fatalf("%d emails, want 1", len(mails))
	}
	checkEmail(t, mails[0], "[FIRING:1] Power consumption", emailText("FIRING", "Power consumption", start))
	if f := e.metric(t, "alertmanager_notifications_failed_total", "webhook"); f != 0 {
		t.Fatalf("%v failed webhook notifications", f)
	}
}

// Alertmanager re-sends a still-firing alert every repeat_interval: the
// email goes out again each time, the history keeps exactly one point.
func TestRepeatedFiringKeepsOnePoint(t *testing.T) {
	e := newEnv(t, 2*time.Second)
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	post(t, e.am, seedAlert("Power consumption repeated", start))
	scenario.WaitFor(t, 45*time.Second, "three webhook deliveries and three emails", func() bool {
		return e.metric(t, "alertmanager_notifications_total", "webhook") >= 3 && len(e.emails(t)) >= 3
	})
	// The sender re-posting the alert (Grafana and Prometheus do every
	// evaluation) changes nothing either.
	post(t, e.am, seedAlert("Power consumption repeated", start))
	if f := e.metric(t, "alertmanager_notifications_failed_total", "webhook"); f != 0 {
		t.Fatalf("%v failed webhook notifications", f)
	}
	if got, want := e.history(t), []map[string]string{historyRow("Power consumption repeated", "CRITICAL", start, 0)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history after %v deliveries:\n got %v\nwant %v", e.metric(t, "alertmanager_notifications_total", "webhook"), got, want)
	}
	for i, m := range e.emails(t) {
		t.Run(fmt.Sprint("email", i), func(t *testing.T) {
			checkEmail(t, m, "[FIRING:1] Power consumption repeated", emailText("FIRING", "Power consumption repeated", start))
		})
	}
}

// An alert whose endsAt has passed is resolved: an OK point whose duration
// is how long it fired, and a resolved email.
func TestResolvedWritesOKWithDuration(t *testing.T) {
	e := newEnv(t, 4*time.Hour)
	const name = "Power consumption resolved"
	start := time.Now().UTC().Add(-3 * time.Minute).Truncate(time.Second)
	post(t, e.am, seedAlert(name, start))
	scenario.WaitFor(t, 30*time.Second, "the firing point", func() bool { return len(e.history(t)) == 1 })
	end := time.Now().UTC().Add(-time.Second).Truncate(time.Millisecond)
	resolved := seedAlert(name, start)
	resolved.EndsAt = end
	post(t, e.am, resolved)
	scenario.WaitFor(t, 30*time.Second, "the OK point and the resolved email", func() bool {
		return len(e.history(t)) >= 2 && len(e.emails(t)) >= 2
	})
	want := []map[string]string{historyRow(name, "CRITICAL", start, 0), historyRow(name, "OK", end, end.Sub(start))}
	if got := e.history(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("history:\n got %v\nwant %v", got, want)
	}
	mails := e.emails(t)
	if len(mails) != 2 {
		t.Fatalf("%d emails, want the firing and the resolved one", len(mails))
	}
	checkEmail(t, mails[0], "[FIRING:1] "+name, emailText("FIRING", name, start))
	checkEmail(t, mails[1], "[RESOLVED] "+name, emailText("RESOLVED", name, start))
}

// With InfluxDB down the receiver answers 5xx, Alertmanager retries, and
// once InfluxDB is back the point arrives exactly once: nothing is lost.
func TestRetriesUntilInfluxDBIsBack(t *testing.T) {
	e := newEnv(t, 4*time.Hour)
	const name = "Power consumption retried"
	influxDB.Stop()
	restarted := false
	restart := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := influxDB.Start(ctx); err != nil {
			t.Fatal(err)
		}
		restarted = true
	}
	t.Cleanup(func() {
		if !restarted {
			restart()
		}
	})
	start := time.Now().UTC().Add(-30 * time.Second).Truncate(time.Second)
	post(t, e.am, seedAlert(name, start))

	// What the receiver answers a sender now: a retryable 5xx.
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "vigil", "alerts": []any{map[string]any{
		"status": "firing", "labels": map[string]string{"alertname": "direct"}, "startsAt": start, "endsAt": "0001-01-01T00:00:00Z"}}})
	if code, answer := call(t, e.receiverURL(), "Bearer "+token, string(body)); code != http.StatusServiceUnavailable {
		t.Fatalf("with InfluxDB down the receiver answered %d %s, want 503", code, answer)
	}
	// Alertmanager sees failures it retries: at least two failed attempts,
	// logged as "will retry later", none given up as unrecoverable (as a
	// 4xx would be).
	scenario.WaitFor(t, 30*time.Second, "Alertmanager to retry the webhook", func() bool {
		return e.metric(t, "alertmanager_notification_requests_failed_total", "webhook") >= 2
	})
	log := e.am.Log()
	if !strings.Contains(log, "Notify attempt failed, will retry later") || strings.Contains(log, "unrecoverable") {
		t.Fatalf("Alertmanager did not treat the failure as retryable; log:\n%s", tail(log, 4096))
	}
	// The email does not depend on InfluxDB: it went out once already.
	scenario.WaitFor(t, 30*time.Second, "the email", func() bool { return len(e.emails(t)) == 1 })

	restart()
	scenario.WaitFor(t, 60*time.Second, "the point after InfluxDB came back", func() bool { return len(e.history(t)) > 0 })
	scenario.WaitFor(t, 10*time.Second, "Alertmanager to record the delivery", func() bool {
		return e.metric(t, "alertmanager_notification_requests_total", "webhook")-e.metric(t, "alertmanager_notification_requests_failed_total", "webhook") == 1
	})
	if got, want := e.history(t), []map[string]string{historyRow(name, "CRITICAL", start, 0)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history:\n got %v\nwant %v", got, want)
	}
	mails := e.emails(t)
	if len(mails) != 1 {
		t.Fatalf("%d emails, want 1", len(mails))
	}
	checkEmail(t, mails[0], "[FIRING:1] "+name, emailText("FIRING", name, start))
}

func call(t *testing.T, url, authorization, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A body that is not a notification gets 4xx and writes nothing; a request
// without the token (or with another) gets 401 and never reaches the plugin.
func TestRejectsWhatItCannotUse(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: starts InfluxDB and the plugin")
	}
	e := newDatabase(t)
	valid := `{"version":"4","status":"firing","receiver":"vigil","alerts":[{"status":"firing","labels":{"alertname":"x"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}`
	tests := []struct {
		name, auth, body string
		want             int
	}{
		{"not JSON", "Bearer " + token, "hello", http.StatusBadRequest},
		{"a Grafana legacy alert, not a notification", "Bearer " + token, `{"title":"x","state":"alerting","ruleName":"r"}`, http.StatusBadRequest},
		{"an alert without alertname", "Bearer " + token, `{"status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}`, http.StatusBadRequest},
		{"a resolved alert without endsAt", "Bearer " + token, `{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"x"},"startsAt":"2026-01-01T00:00:00Z"}]}`, http.StatusBadRequest},
		{"no token", "", valid, http.StatusUnauthorized},
		{"another token", "Bearer glsa_not-the-token", valid, http.StatusUnauthorized},
		{"basic auth", "Basic dmlnaWw6dmlnaWw=", valid, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := call(t, e.receiverURL(), tt.auth, tt.body); code != tt.want {
				t.Fatalf("got %d %s, want %d", code, body, tt.want)
			}
		})
	}
	if rows := e.history(t); len(rows) != 0 {
		t.Fatalf("rejected requests wrote %v", rows)
	}
	// The same valid notification with the token is written: the rejections
	// above were for what they sent, not for the route.
	if code, body := call(t, e.receiverURL(), "Bearer "+token, valid); code != http.StatusOK {
		t.Fatalf("valid notification: %d %s", code, body)
	}
	if rows := e.history(t); len(rows) != 1 {
		t.Fatalf("valid notification wrote %d points", len(rows))
	}
}
