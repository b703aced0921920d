// Package standin stands in for the Grafana server that cannot be run here
// (see devenv.UserGrafana): it schedules the provisioned alert rules through
// the plugin host and notifies through a real Alertmanager as Grafana's
// alerting would, and it runs the local demo (Demo).
package standin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerteval"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
	"github.com/vigil/vigil-anomaly-datasource/pkg/grafanaprov"
)

// RuleRunner stands in for Grafana's alert scheduler and sender (no Grafana
// here): it evaluates the provisioned rules through the plugin (pkg/alerteval
// does what Grafana's evaluation does) and posts the resulting alerts to a
// real Alertmanager, which notifies as Grafana's contact point would.
type RuleRunner struct {
	querier      alerteval.Querier
	alertmanager *devenv.Alertmanager
	generatorURL string

	mu    sync.Mutex
	rules []*scheduledRule
}

type scheduledRule struct {
	rule     alerteval.Rule
	interval time.Duration
	tracker  *alerteval.Tracker
	last     alerteval.Evaluation
}

// NewRuleRunner schedules the provisioned rules; generatorURL is where the
// alerts say they come from.
func NewRuleRunner(q alerteval.Querier, am *devenv.Alertmanager, rules []grafanaprov.GroupedRule, generatorURL string) (*RuleRunner, error) {
	r := &RuleRunner{querier: q, alertmanager: am, generatorURL: generatorURL}
	for _, g := range rules {
		interval, err := grafanaprov.ParseDuration(g.Interval)
		if err != nil {
			return nil, fmt.Errorf("rule group %s: interval: %w", g.Group, err)
		}
		r.rules = append(r.rules, &scheduledRule{rule: EvalRule(g), interval: interval, tracker: alerteval.NewTracker()})
	}
	return r, nil
}

// EvalRule is a provisioned rule in alerteval's terms.
func EvalRule(g grafanaprov.GroupedRule) alerteval.Rule {
	r := alerteval.Rule{
		UID: g.Rule.UID, OrgID: g.OrgID, Title: g.Rule.Title, Folder: g.Folder, Condition: g.Rule.Condition,
		Labels: g.Rule.Labels, Annotations: g.Rule.Annotations,
		NoDataState: g.Rule.NoDataState, ExecErrState: g.Rule.ExecErrState,
	}
	for _, q := range g.Rule.Data {
		r.Data = append(r.Data, alerteval.Query{
			RefID: q.RefID, QueryType: q.QueryType, DatasourceUID: q.DatasourceUID, Model: q.Model,
			RelativeTimeRange: alerteval.RelativeTimeRange{From: q.RelativeTimeRange.From, To: q.RelativeTimeRange.To},
		})
	}
	return r
}

// Evaluate evaluates the rule titled title at now, posts its alerts and
// returns the evaluation.
func (r *RuleRunner) Evaluate(ctx context.Context, title string, now time.Time) (alerteval.Evaluation, error) {
	for _, s := range r.rules {
		if s.rule.Title == title {
			return r.evaluate(ctx, s, now)
		}
	}
	return alerteval.Evaluation{}, fmt.Errorf("no rule titled %q", title)
}

func (r *RuleRunner) evaluate(ctx context.Context, s *scheduledRule, now time.Time) (alerteval.Evaluation, error) {
	ev := alerteval.Evaluate(ctx, r.querier, s.rule, now)
	r.mu.Lock()
	instances := s.tracker.Apply(ev)
	s.last = ev
	r.mu.Unlock()
	alerts := alerteval.PostableAlerts(instances, now, s.interval, r.generatorURL)
	if len(alerts) == 0 {
		return ev, nil
	}
	return ev, r.alertmanager.Post(ctx, alerts)
}

// Run evaluates every rule at its group's interval until ctx ends, as
// Grafana's scheduler does, and calls report after each evaluation.
func (r *RuleRunner) Run(ctx context.Context, report func(rule alerteval.Rule, ev alerteval.Evaluation, err error)) {
	var wg sync.WaitGroup
	for _, s := range r.rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ev, err := r.evaluate(ctx, s, time.Now())
				if ctx.Err() != nil {
					return
				}
				report(s.rule, ev, err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(s.interval):
				}
			}
		}()
	}
	wg.Wait()
}

// AlertmanagerConfigFor is a provisioned Grafana contact point as
// Alertmanager's receiver: the webhook with bearer credentials (Vigil's
// alert-history route) is the authenticated webhook, other webhooks are
// posted to without credentials, and email goes through smtpAddr.
func AlertmanagerConfigFor(cp grafanaprov.ContactPoint, smtpAddr string) (devenv.AlertmanagerConfig, error) {
	cfg := devenv.AlertmanagerConfig{SMTPAddr: smtpAddr}
	for _, r := range cp.Receivers {
		setting := func(k string) string { s, _ := r.Settings[k].(string); return s }
		switch r.Type {
		case "webhook":
			if setting("authorization_credentials") != "" {
				if cfg.WebhookURL != "" {
					return cfg, fmt.Errorf("contact point %s: more than one authenticated webhook", cp.Name)
				}
				cfg.WebhookURL, cfg.WebhookToken = setting("url"), setting("authorization_credentials")
			} else {
				cfg.PostURLs = append(cfg.PostURLs, setting("url"))
			}
		case "email":
			cfg.EmailTo = setting("addresses")
		default:
			return cfg, fmt.Errorf("contact point %s: integration type %q has no Alertmanager counterpart here", cp.Name, r.Type)
		}
	}
	if cfg.WebhookURL == "" {
		return cfg, fmt.Errorf("contact point %s: no alert-history webhook", cp.Name)
	}
	return cfg, nil
}
