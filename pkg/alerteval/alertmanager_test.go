package alerteval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// alertmanagerBinary is Debian's prometheus-alertmanager (Apache-2.0).
const alertmanagerBinary = "/usr/bin/prometheus-alertmanager"

// startAlertmanager runs a real Alertmanager on a free 127.0.0.1 port for
// the test and stops it at the end; it returns the base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no servers")
	}
	if _, err := os.Stat(alertmanagerBinary); err != nil {
		t.Skipf("%s not installed (apt-get install prometheus-alertmanager)", alertmanagerBinary)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(alertmanagerBinary, "--config.file="+cfg, "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type gettableAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// TestAlertmanagerReadsPostableAlerts posts what PostableAlerts makes to a
// real Alertmanager and reads its view back: a firing instance is active
// with Grafana's startsAt/endsAt, the normal one is absent, and once the
// instance resolves Alertmanager no longer lists it.
func TestAlertmanagerReadsPostableAlerts(t *testing.T) {
	am := startAlertmanager(t)
	post := func(alerts []PostableAlert) {
		body, _ := json.Marshal(alerts)
		resp, err := http.Post(am+"/api/v2/alerts", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v2/alerts: %s for %s", resp.Status, body)
		}
	}
	active := func() []gettableAlert {
		resp, err := http.Get(am + "/api/v2/alerts")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []gettableAlert
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rule := printerRule(ModeDropNN, thresholdQuery("lt", 0.001))
	tr := NewTracker()
	q := &fakeQuerier{frames: map[string]data.Frames{}}
	// Evaluation times a little in the past, so that a resolved alert's
	// endsAt is already past for Alertmanager's clock.
	t1 := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	step := func(at time.Time, hotend float64) {
		q.frames["A"] = ttestFrames(pseries("hotend", nil, hotend), pseries("bed", nil, 0.5))
		ev := Evaluate(context.Background(), q, rule, at)
		if ev.Err != nil {
			t.Fatal(ev.Err)
		}
		post(PostableAlerts(tr.Apply(ev), at, 10*time.Second, "http://127.0.0.1/alerting/grafana/vigil-printer/view"))
	}

	step(t1, 1e-9)
	got := active()
	if len(got) != 1 || got[0].Labels["field"] != "hotend" || got[0].Labels["alertname"] != "Printer anomaly" || got[0].Status.State != "active" {
		t.Fatalf("after firing: %+v", got)
	}
	if !got[0].StartsAt.Equal(t1) || !got[0].EndsAt.Equal(t1.Add(4*ResendDelay)) {
		t.Fatalf("startsAt %s endsAt %s, want %s %s", got[0].StartsAt, got[0].EndsAt, t1, t1.Add(4*ResendDelay))
	}

	t2 := t1.Add(10 * time.Second)
	step(t2, 0.5)
	if got := active(); len(got) != 0 {
		t.Fatalf("after resolving: still listed %s", fmt.Sprint(got))
	}
}
