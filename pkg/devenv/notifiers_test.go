package devenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSumMetric(t *testing.T) {
	const exposition = `# HELP alertmanager_notification_requests_failed_total The total number of failed notification requests.
# TYPE alertmanager_notification_requests_failed_total counter
alertmanager_notification_requests_failed_total{integration="email"} 0
alertmanager_notification_requests_failed_total{integration="webhook"} 3
alertmanager_notification_requests_failed_total_extra{integration="webhook"} 100
alertmanager_notifications_total{integration="webhook",reason="x"} 2.5
alertmanager_notifications_total{integration="webhook",reason="y"} 1
alertmanager_alerts 4
`
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"alertmanager_notification_requests_failed_total", map[string]string{"integration": "webhook"}, 3},
		{"alertmanager_notification_requests_failed_total", nil, 3},
		{"alertmanager_notification_requests_failed_total", map[string]string{"integration": "email"}, 0},
		{"alertmanager_notifications_total", map[string]string{"integration": "webhook"}, 3.5},
		{"alertmanager_notifications_total", map[string]string{"reason": "y"}, 1},
		{"alertmanager_alerts", nil, 4},
		{"alertmanager_alerts", map[string]string{"integration": "webhook"}, 0},
		{"missing_metric", nil, 0},
	}
	for _, tt := range tests {
		got, err := sumMetric(strings.NewReader(exposition), tt.name, tt.labels)
		if err != nil || got != tt.want {
			t.Errorf("%s %v: got %v, %v; want %v", tt.name, tt.labels, got, err, tt.want)
		}
	}
}

func TestAlertmanagerYAML(t *testing.T) {
	conf, err := alertmanagerYAML(AlertmanagerConfig{WebhookURL: "http://127.0.0.1:1/hook?a=1&b=2", WebhookToken: `to"ken`,
		SMTPAddr: "127.0.0.1:2", RepeatInterval: 2500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Global    map[string]any `json:"global"`
		Route     map[string]any `json:"route"`
		Receivers []struct {
			Name     string           `json:"name"`
			Webhooks []map[string]any `json:"webhook_configs"`
			Emails   []map[string]any `json:"email_configs"`
		} `json:"receivers"`
	}
	if err := json.Unmarshal(conf, &got); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"repeat_interval", got.Route["repeat_interval"], "2500ms"},
		{"group_by", got.Route["group_by"], []any{"alertname"}},
		{"group_wait", got.Route["group_wait"], "1s"},
		{"group_interval", got.Route["group_interval"], "1s"},
		{"webhook url", got.Receivers[0].Webhooks[0]["url"], "http://127.0.0.1:1/hook?a=1&b=2"},
		{"webhook auth", got.Receivers[0].Webhooks[0]["http_config"], map[string]any{"authorization": map[string]any{"type": "Bearer", "credentials": `to"ken`}}},
		{"smarthost", got.Global["smtp_smarthost"], "127.0.0.1:2"},
		{"require tls", got.Global["smtp_require_tls"], false},
		{"email resolved", got.Receivers[0].Emails[0]["send_resolved"], true},
		{"email to", got.Receivers[0].Emails[0]["to"], "oncall@vigil.test"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
	if _, err := alertmanagerYAML(AlertmanagerConfig{}); err == nil {
		t.Error("a config without webhook URL was accepted")
	}
}

func TestParseEmail(t *testing.T) {
	const multipartQP = "From: alertmanager@vigil.test\r\nTo: oncall@vigil.test, ops@vigil.test\r\n" +
		"Subject: =?UTF-8?q?[FIRING:1]_Power_consumption_=E2=9A=A1?=\r\nDate: Tue, 24 Nov 2026 05:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"message: Alert: power consumption=\r\n and more =3D 1\r\n" +
		"--b1\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"PGI+aWQ6IFBvd2VyX0NvbnN1\r\nbXB0aW9uX1J1bGU8L2I+\r\n--b1--\r\n"
	const plain = "From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nbody line\r\n"
	tests := []struct {
		name string
		raw  string
		want Email
	}{
		{"multipart, quoted-printable and base64, encoded subject", multipartQP, Email{
			From: "alertmanager@vigil.test", To: []string{"oncall@vigil.test", "ops@vigil.test"},
			Subject: "[FIRING:1] Power consumption ⚡", Date: time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
			Text: "message: Alert: power consumption and more = 1", HTML: "<b>id: Power_Consumption_Rule</b>"}},
		{"plain text", plain, Email{From: "a@b", To: []string{"c@d"}, Subject: "hi", Text: "body line\r\n"}},
	}
	for _, tt := range tests {
		got, err := ParseEmail([]byte(tt.raw))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !got.Date.Equal(tt.want.Date) {
			t.Errorf("%s: date %v, want %v", tt.name, got.Date, tt.want.Date)
		}
		got.Date = tt.want.Date
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tt.name, got, tt.want)
		}
	}
}

// TestAlertmanagerDeliversWebhookAndEmail runs the real Alertmanager and
// SMTP server: a posted alert reaches the webhook (payload version 4, with
// the bearer token) and the mailbox (with the seed's annotations).
func TestAlertmanagerDeliversWebhookAndEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Alertmanager and an SMTP server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	smtp, err := StartSMTP(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Stop()
	var mu sync.Mutex
	var hooks []map[string]any
	var auths []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		hooks, auths = append(hooks, m), append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer hook.Close()
	am, err := StartAlertmanager(ctx, dir, AlertmanagerConfig{WebhookURL: hook.URL + "/hook", WebhookToken: "s3cret", SMTPAddr: smtp.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Stop()
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	if err := am.Post(ctx, []PostableAlert{{Labels: map[string]string{"alertname": "Power consumption", "severity": "critical"},
		Annotations: map[string]string{"id": "Power_Consumption_Rule", "message": "Alert: power consumption", "details": "too high", "value": "27.97"},
		StartsAt:    start}}); err != nil {
		t.Fatal(err)
	}
	var mails []Email
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if mails, err = smtp.Messages(); err != nil {
			t.Fatal(err)
		}
		if n > 0 && len(mails) > 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) == 0 || len(mails) == 0 {
		t.Fatalf("after 30 s: %d webhook calls, %d emails; alertmanager log:\n%s", len(hooks), len(mails), am.Log())
	}
	h := hooks[0]
	alerts, _ := h["alerts"].([]any)
	if h["version"] != "4" || h["status"] != "firing" || auths[0] != "Bearer s3cret" || len(alerts) != 1 {
		t.Fatalf("webhook: %v, authorization %q", h, auths[0])
	}
	a := alerts[0].(map[string]any)
	if a["endsAt"] != "0001-01-01T00:00:00Z" || a["startsAt"] != start.Format(time.RFC3339) {
		t.Errorf("webhook alert times: %v", a)
	}
	m := mails[0]
	wantText := "FIRING Power consumption\nid: Power_Consumption_Rule\nmessage: Alert: power consumption\ndetails: too high\nvalue: 27.97\nstartsAt: " + start.Format(time.RFC3339) + "\n"
	if strings.ReplaceAll(m.Text, "\r\n", "\n") != wantText || !reflect.DeepEqual(m.To, []string{"oncall@vigil.test"}) ||
		!strings.HasPrefix(m.Subject, "[FIRING:1] Power consumption") {
		t.Errorf("email: to %v subject %q text %q", m.To, m.Subject, m.Text)
	}
	for _, s := range []string{"Power_Consumption_Rule", "Alert: power consumption", "too high"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("the email's HTML lacks %q", s)
		}
	}
	if strings.Contains(am.Log(), "s3cret") {
		t.Error("Alertmanager logged the webhook token")
	}
}
