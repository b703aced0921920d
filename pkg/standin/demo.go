package standin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/alerteval"
	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/loader"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// Demo runs Vigil locally from the repository root until ctx ends: InfluxDB
// with the demo data and a real-time printer writer, the built plugin under
// the plugin host with the provisioned data source, the provisioned rules
// evaluated as Grafana would and sent to Alertmanager (webhook, alert
// history, email through a local SMTP server), and, in the terminal, each
// field's windows from Vigil's Live streams as they complete, rule state
// changes, notifications, emails and the history written. With a Grafana
// given (devenv.UserGrafana), it is started (VIGIL_GRAFANA) or pointed to
// (GRAFANA_URL) as well.
func Demo(ctx context.Context, root string, out io.Writer) error {
	dir := filepath.Join(devenv.CacheDir(), "demo")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, sub := range []string{"influxdb", "grafana", "kafka"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	store, err := devenv.StartInfluxDB(ctx, filepath.Join(dir, "influxdb"))
	if err != nil {
		return err
	}
	defer store.Stop()
	for _, db := range []string{"printer", "house"} {
		if err := store.CreateDatabase(ctx, db); err != nil {
			return err
		}
	}

	broker, err := devenv.StartKafka(filepath.Join(dir, "kafka"), 3, datagen.PrinterTopic)
	if err != nil {
		return err
	}
	defer broker.Stop()

	stack, err := StartStack(ctx, StackOptions{Root: root, Dir: dir, InfluxDB: store, DefaultBucket: "printer/autogen",
		KafkaBrokers: broker.Addr, Token: randomToken(), Notifications: out})
	if err != nil {
		return err
	}
	defer stack.Stop()
	host := stack.Host
	health, err := host.CheckHealth(ctx, devenv.DatasourceUID)
	if err != nil {
		return err
	}

	// Demo data: a day of printer data ending now (anomalies at 1 h, 8 h and
	// 12 h into it), to InfluxDB and to the Kafka topic, 30 days of
	// synthetic household data (or the UCI file, see the README), and
	// real-time printer writers to both.
	fmt.Fprintln(out, "loading demo data...")
	dayAgo := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	pw := loader.NewWriter(store.URL, store.Token(), "printer/autogen")
	defer pw.Close(context.Background())
	if err := loader.Printer(ctx, pw, dayAgo, datagen.PrinterPoints, 1); err != nil {
		return err
	}
	pw.Report(out, "  printer, 24 h at 1 Hz")
	topic, err := loader.NewTopic([]string{broker.Addr}, datagen.PrinterTopic)
	if err != nil {
		return err
	}
	defer topic.Close(context.Background())
	if err := loader.Printer(ctx, topic, dayAgo, datagen.PrinterPoints, 1); err != nil {
		return err
	}
	if err := topic.Flush(ctx); err != nil {
		return err
	}
	topic.Report(out, "  printer, the same day to Kafka topic "+datagen.PrinterTopic)
	hw := loader.NewWriter(store.URL, store.Token(), "house/autogen")
	if err := loader.Household(ctx, hw, time.Now().Add(-30*24*time.Hour).Truncate(time.Minute), 30*1440, 1); err != nil {
		return err
	}
	hw.Report(out, "  household, 30 days of minutes")
	_ = hw.Close(ctx)

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = loader.PrinterRealtime(ctx, pw, 2, func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) })
	}()
	go func() {
		defer wg.Done()
		_ = loader.PrinterRealtime(ctx, topic, 2, func(string, ...any) {}) // the same points: the InfluxDB writer logs them
	}()

	grafanaLine := "not started: " + userGrafanaHint()
	if url, binary, _ := devenv.UserGrafana(); url != "" {
		grafanaLine = url + " (yours; provision it as the README says)"
	} else if binary != "" {
		g, err := devenv.StartGrafana(ctx, devenv.GrafanaOptions{
			Binary: binary, Dir: filepath.Join(dir, "grafana"), PluginID: vigil.Plugin.ID,
			PluginDist: filepath.Join(root, "dist"), Provisioning: filepath.Join(root, "provisioning"),
			Dashboards: filepath.Join(root, "dashboards"), Env: devenv.ProvisioningEnv(store, "printer/autogen", stack.Webhook.URL, broker.Addr),
		})
		if err != nil {
			return err
		}
		defer g.Stop()
		grafanaLine = g.URL + " (login admin / admin)"
	}
	fmt.Fprintf(out, `
Vigil is running (everything on 127.0.0.1; data and logs in %s).

  Plugin        %s under the plugin host (as Grafana runs it); data source %q: %s %s
  InfluxDB      %s   (token %s; databases printer, house)
  Kafka         %s   (a kfake broker; topic %s, 3 partitions)
  Alertmanager  %s   (webhook %s, alert history, email to %s via SMTP %s)
  Grafana       %s
  Writers       one printer point per second to InfluxDB and to the topic; every 15 minutes one field runs anomalous for 5 minutes

`, dir, filepath.Base(pluginhost.Executable(root)), devenv.DatasourceUID, health.Status, health.Message, store.URL, store.Token(),
		broker.Addr, datagen.PrinterTopic, stack.Alertmanager.URL, stack.Webhook.URL, stack.AlertmanagerConfig.EmailTo, stack.SMTP.Addr, grafanaLine)
	if err := printAnomalies(ctx, host, out); err != nil {
		fmt.Fprintln(out, "anomalies:", err)
	}
	fmt.Fprintln(out, "\nLive: each field's 5-minute windows as they complete, from InfluxDB [live] and straight from the Kafka topic [kafka] (p-value; ANOMALY below alpha 0.001); rule changes, notifications, emails and history below.")

	for _, field := range datagen.PrinterFields {
		wg.Add(2)
		go func() {
			defer wg.Done()
			watchField(ctx, host, models.QueryTypeTTest, field, out)
		}()
		go func() {
			defer wg.Done()
			watchField(ctx, host, models.QueryTypeKafka, field, out)
		}()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		watchHistory(ctx, store, out)
	}()
	go func() {
		defer wg.Done()
		last := map[string]string{}
		stack.Rules.Run(ctx, func(rule alerteval.Rule, ev alerteval.Evaluation, err error) {
			for _, in := range ev.Instances {
				state := string(in.State)
				if in.Resolved {
					state = "Resolved"
				}
				key := rule.Title + fmt.Sprint(in.Labels)
				if last[key] != state {
					last[key] = state
					fmt.Fprintf(out, "[rule]    %s %-26s %s\n", time.Now().Format("15:04:05"), rule.Title, state)
				}
			}
			if err != nil {
				fmt.Fprintf(out, "[rule]    %s %s: sending to Alertmanager: %v\n", time.Now().Format("15:04:05"), rule.Title, err)
			}
		})
	}()
	go func() {
		defer wg.Done()
		watchMail(ctx, stack.SMTP, out)
	}()
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping")
	return nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func userGrafanaHint() string {
	_, _, reason := devenv.UserGrafana()
	return reason
}

// printAnomalies prints the anomalous windows per field over the last 24
// hours, from the t-test query as a panel runs it.
func printAnomalies(ctx context.Context, host *pluginhost.Host, out io.Writer) error {
	now := time.Now()
	req, err := pluginhost.PanelRequest(now.Add(-24*time.Hour), now, 1000, 0, map[string]any{
		"refId": "A", "queryType": "ttest", "bucket": "printer/autogen", "measurement": "temperatures",
		"fields": datagen.PrinterFields, "output": "anomaly",
	})
	if err != nil {
		return err
	}
	resp, err := host.QueryData(ctx, devenv.DatasourceUID, req)
	if err != nil {
		return err
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		return r.Error
	}
	fmt.Fprintln(out, "Anomalous 5-minute windows in the last 24 hours (t-test, alpha 0.001):")
	for _, f := range r.Frames {
		var times []string
		for i := range f.Rows() {
			if v, _ := f.Fields[1].ConcreteAt(i); v == 1.0 {
				times = append(times, f.Fields[0].At(i).(time.Time).Local().Format("15:04"))
			}
		}
		fmt.Fprintf(out, "  %-7s %d: %s\n", f.Fields[1].Labels["field"], len(times), strings.Join(times, " "))
	}
	return nil
}

// watchField subscribes to a field's Live channel (ttest: from InfluxDB;
// kafka: from the topic) and prints each window as its frame arrives.
func watchField(ctx context.Context, host *pluginhost.Host, qt models.QueryType, field string, out io.Writer) {
	q := map[string]any{"queryType": qt, "bucket": "printer/autogen", "measurement": "temperatures",
		"fields": []string{field}, "window": "5m", "history": 3600, "alpha": 0.001, "output": "pvalue"}
	tag := "[live] "
	if qt == models.QueryTypeKafka {
		q["topic"], tag = datagen.PrinterTopic, "[kafka]"
	}
	query, _ := json.Marshal(q)
	var sub *pluginhost.Subscription
	path, err := models.LiveChannel(qt, query)
	if err == nil {
		sub, err = host.Subscribe(ctx, devenv.DatasourceUID, path, query)
	}
	if err != nil {
		fmt.Fprintf(out, "%s   %s: %v\n", tag, field, err)
		return
	}
	defer sub.Close(host)
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-sub.Frames:
			printWindows(out, tag, field, f)
		}
	}
}

func printWindows(out io.Writer, tag, field string, f *data.Frame) {
	for i := range f.Rows() {
		v, _ := f.Fields[1].ConcreteAt(i)
		p, _ := v.(float64)
		mark := ""
		if p < 0.001 {
			mark = "  ANOMALY"
		}
		if math.IsNaN(p) {
			mark = "  (no variance)"
		}
		fmt.Fprintf(out, "%s   window ending %s %-7s p=%-10.3g%s\n", tag, f.Fields[0].At(i).(time.Time).Local().Format("15:04"), field, p, mark)
	}
}

// watchMail prints each email the SMTP server receives.
func watchMail(ctx context.Context, smtp *devenv.SMTPServer, out io.Writer) {
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		msgs, err := smtp.Messages()
		if err != nil || len(msgs) <= seen {
			continue
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].Received.Before(msgs[j].Received) })
		for _, m := range msgs[seen:] {
			fmt.Fprintf(out, "[email]   %s to %s: %s\n", time.Now().Format("15:04:05"), strings.Join(m.To, ","), m.Subject)
		}
		seen = len(msgs)
	}
}

// watchHistory prints each alert-history point the receiver writes (the
// contact point's alert-history integration writes to house/autogen).
func watchHistory(ctx context.Context, i *devenv.InfluxDB, out io.Writer) {
	c := influx.NewClient(influx.Config{URL: i.URL, Token: i.Token()})
	defer c.Close()
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		_ = c.InfluxQL(ctx, "house", `SELECT "alertName", "level", "message", "value" FROM "house"."autogen"."alerts" WHERE time > now() - 1d`, func(s influx.Series) error {
			for _, v := range s.Values {
				key := fmt.Sprint(v)
				if !seen[key] {
					seen[key] = true
					fmt.Fprintf(out, "[history] %s %-8v %v: %v (value %v)\n", time.Now().Format("15:04:05"), v[2], v[1], v[3], v[4])
				}
			}
			return nil
		})
	}
}
