package alerteval

import (
	"sort"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// ResendDelay is Grafana's minimum resend interval for firing alerts; a
// firing alert's endsAt is the evaluation time plus 4 × max(ResendDelay,
// rule interval) (state.nextEndsTime), so Alertmanager keeps it active
// for at least two missed evaluations.
const ResendDelay = 30 * time.Second

// PostableAlert is one item of Alertmanager's POST /api/v2/alerts body.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Firing reports whether Grafana sends the state to Alertmanager as a
// firing alert: Alerting, and NoData and Error (which Grafana sends as
// DatasourceNoData / DatasourceError alerts).
func (s State) Firing() bool { return s == Alerting || s == NoData || s == Error }

// PostableAlerts turns instances (usually from (*Tracker).Apply) into the
// alerts Grafana's sender posts, at evaluation time now, for a rule
// evaluated every interval:
//   - firing: startsAt = the instance's StartsAt (now if unset), endsAt =
//     now + 4 × max(ResendDelay, interval);
//   - resolved: startsAt kept, endsAt = the instance's EndsAt (now if unset);
//   - Normal and not resolved: not sent.
//
// NoData and Error instances go out with alertname DatasourceNoData or
// DatasourceError and the rule's title in rulename; Error adds the
// annotation Error with the message.
func PostableAlerts(instances []Instance, now time.Time, interval time.Duration, generatorURL string) []PostableAlert {
	valid := ResendDelay
	if interval > valid {
		valid = interval
	}
	var out []PostableAlert
	for _, inst := range instances {
		if !inst.Resolved && !inst.State.Firing() {
			continue
		}
		a := PostableAlert{Labels: copyMap(inst.Labels), Annotations: copyMap(inst.Annotations), StartsAt: inst.StartsAt, GeneratorURL: generatorURL}
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		if inst.Resolved {
			a.EndsAt = inst.EndsAt
			if a.EndsAt.IsZero() {
				a.EndsAt = now
			}
		} else {
			a.EndsAt = now.Add(4 * valid)
		}
		state := inst.State
		if inst.Resolved {
			state = inst.Previous
		}
		switch state {
		case NoData:
			a.Labels["rulename"], a.Labels["alertname"] = a.Labels["alertname"], "DatasourceNoData"
		case Error:
			a.Labels["rulename"], a.Labels["alertname"] = a.Labels["alertname"], "DatasourceError"
			if inst.Error != "" {
				a.Annotations["Error"] = inst.Error
			}
		}
		out = append(out, a)
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Tracker remembers the firing instances of one rule between evaluations,
// as Grafana's state cache does, so a firing instance keeps its startsAt
// and a resolved one is reported once with its original startsAt. It is
// safe for concurrent use.
type Tracker struct {
	mu     sync.Mutex
	active map[string]Instance
}

// NewTracker returns a Tracker with no firing instances.
func NewTracker() *Tracker { return &Tracker{active: map[string]Instance{}} }

// Apply records ev and returns its instances with StartsAt set (the
// evaluation time when an instance starts firing or changes firing state,
// else the time it started), plus one resolved instance (State Normal,
// Resolved, EndsAt = ev.EvaluatedAt) for each instance that fired before
// and is now Normal or gone.
func (t *Tracker) Apply(ev Evaluation) []Instance {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := ev.EvaluatedAt
	seen := map[string]bool{}
	var out []Instance
	for _, inst := range ev.Instances {
		key := data.Labels(inst.Labels).String()
		seen[key] = true
		prev, wasFiring := t.active[key]
		switch {
		case inst.State.Firing():
			inst.StartsAt = now
			if wasFiring && prev.State == inst.State {
				inst.StartsAt = prev.StartsAt
			}
			t.active[key] = inst
		case wasFiring:
			inst.StartsAt, inst.EndsAt, inst.Resolved, inst.Previous = prev.StartsAt, now, true, prev.State
			delete(t.active, key)
		}
		out = append(out, inst)
	}
	gone := make([]string, 0)
	for key := range t.active {
		if !seen[key] {
			gone = append(gone, key)
		}
	}
	sort.Strings(gone)
	for _, key := range gone {
		prev := t.active[key]
		prev.Previous = prev.State
		prev.State, prev.Reason, prev.EndsAt, prev.Resolved = Normal, "", now, true
		out = append(out, prev)
		delete(t.active, key)
	}
	return out
}
