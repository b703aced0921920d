package standin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/grafanaprov"
	"github.com/vigil/vigil-anomaly-datasource/pkg/pluginhost"
)

// Stack is Vigil with the real parts that stand in for Grafana around it, as
// the demo and the end-to-end tests run it: the built plugin under the
// plugin host, Grafana's resource route, provisioning/ loaded with the
// environment Grafana would expand (the provisioned data source registered),
// the webhook contact point's endpoint, an SMTP server, Alertmanager
// configured from the provisioned contact point, and the rule scheduler.
type Stack struct {
	Host *pluginhost.Host
	// LogPath holds the plugin's log.
	LogPath string
	// ResourcesURL serves Grafana's resource route; Token is the
	// service-account token it requires, whose account has the Editor role
	// (pluginhost.ReceiverAccount), as the alert-history receiver requires.
	ResourcesURL, Token string
	Project             *grafanaprov.Project
	Webhook             *devenv.WebhookListener
	SMTP                *devenv.SMTPServer
	AlertmanagerConfig  devenv.AlertmanagerConfig
	Alertmanager        *devenv.Alertmanager
	Rules               *RuleRunner

	stops []func()
}

// StackOptions configure StartStack.
type StackOptions struct {
	// Root is the repository (dist/, provisioning/, dashboards/); Dir holds
	// the run's logs and data.
	Root, Dir string
	// InfluxDB backs the provisioned data source, with DefaultBucket.
	InfluxDB      *devenv.InfluxDB
	DefaultBucket string
	// KafkaBrokers are the provisioned data source's Kafka brokers ("" for none).
	KafkaBrokers string
	// Token is the service-account token of the resource route (an Editor's,
	// which the alert-history contact point sends).
	Token string
	// Notifications, when set, gets a line per webhook alert.
	Notifications io.Writer
	// Transcript, when set, gets every answer of the plugin (see pluginhost.Options).
	Transcript io.Writer
}

// StartStack starts the stack; Stop stops what it started, also after an error.
func StartStack(ctx context.Context, o StackOptions) (s *Stack, err error) {
	started := &Stack{Token: o.Token, LogPath: filepath.Join(o.Dir, "plugin.log")}
	s = started
	defer func() { // s is nil after an error: stop what started
		if err != nil {
			started.Stop()
		}
	}()
	for _, sub := range []string{"smtp", "alertmanager"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if s.Host, err = pluginhost.Start(ctx, pluginhost.Options{Executable: pluginhost.Executable(o.Root), LogPath: s.LogPath, Transcript: o.Transcript}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.Host.Stop)
	if s.ResourcesURL, err = s.Host.ServeResources(o.Token); err != nil {
		return nil, err
	}
	if s.Webhook, err = devenv.StartWebhookListener(o.Notifications); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.Webhook.Stop)
	env := map[string]string{
		"VIGIL_DASHBOARDS_DIR": filepath.Join(o.Root, "dashboards"),
		// The host serves Grafana's resource route, where the alert-history
		// contact point posts with the token of a service account whose
		// role is Editor (a Viewer's would be refused).
		"VIGIL_GRAFANA_URL":    s.ResourcesURL,
		"VIGIL_RECEIVER_TOKEN": o.Token,
	}
	for _, kv := range devenv.ProvisioningEnv(o.InfluxDB, o.DefaultBucket, s.Webhook.URL, o.KafkaBrokers) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if s.Project, err = grafanaprov.LoadProject(filepath.Join(o.Root, "provisioning"), grafanaprov.EnvFrom(env)); err != nil {
		return nil, err
	}
	provisioned, ok := s.Project.Datasource(devenv.DatasourceUID)
	if !ok {
		return nil, fmt.Errorf("provisioning has no data source %q", devenv.DatasourceUID)
	}
	settings, err := provisioned.InstanceSettings(1)
	if err != nil {
		return nil, err
	}
	s.Host.AddDatasource(settings)

	if s.SMTP, err = devenv.StartSMTP(ctx, filepath.Join(o.Dir, "smtp")); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.SMTP.Stop)
	contactPoint, err := s.Project.RootContactPoint(1)
	if err != nil {
		return nil, err
	}
	if s.AlertmanagerConfig, err = AlertmanagerConfigFor(contactPoint, s.SMTP.Addr); err != nil {
		return nil, err
	}
	if s.Alertmanager, err = devenv.StartAlertmanager(ctx, filepath.Join(o.Dir, "alertmanager"), s.AlertmanagerConfig); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.Alertmanager.Stop)
	if s.Rules, err = NewRuleRunner(s.Host, s.Alertmanager, s.Project.Rules(), s.ResourcesURL); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop stops what StartStack started, last first.
func (s *Stack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}
