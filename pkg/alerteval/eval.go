package alerteval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/dataplane"
)

// State is an alert instance's state, as Grafana names them.
type State string

const (
	Normal   State = "Normal"
	Alerting State = "Alerting"
	NoData   State = "NoData"
	Error    State = "Error"
)

// Value is one expression's value for an instance: $values.<refId> in
// templates ({{ $values.B }} prints Value, {{ $values.B.Labels }} the labels).
// A null is NaN, as in Grafana's template data.
type Value struct {
	Labels map[string]string
	Value  float64
}

func (v Value) String() string { return strconv.FormatFloat(v.Value, 'f', -1, 64) }

// Instance is one alert instance of an evaluation.
type Instance struct {
	// Labels: alertname (the rule's title), grafana_folder (when the rule
	// has a folder), the rule's labels, then the series' labels; an earlier
	// source wins a clash, as in Grafana's state manager.
	Labels map[string]string
	State  State
	// Reason is the evaluation's own state when the rule's NoDataState or
	// ExecErrState replaced it (Grafana's grafana_state_reason), else "".
	Reason string
	// Values are the expressions' numbers matching this instance, by refId.
	Values map[string]Value
	// EvaluationString is $value in templates: "[ var='B' labels={...} value=... ], ...".
	EvaluationString string
	Annotations      map[string]string
	// Error is the evaluation error, for State Error (or Reason Error).
	Error string
	// StartsAt, EndsAt and Resolved are filled in by (*Tracker).Apply.
	StartsAt time.Time
	EndsAt   time.Time
	Resolved bool
	// Previous is, for a resolved instance, the firing state it left (so
	// that a resolved DatasourceNoData alert keeps that name).
	Previous State
}

// Evaluation is the outcome of evaluating a rule once.
type Evaluation struct {
	EvaluatedAt time.Time
	Instances   []Instance
	// Err is why the evaluation failed (the rule has one Error instance).
	Err error
	// NoDataRefIDs are the data queries that returned no data, with their
	// data source UIDs, when the evaluation is NoData because of them.
	NoDataRefIDs map[string]string
}

var errNotYet = errors.New("not evaluated yet")

// Evaluate runs rule at now as Grafana's alerting does: the data queries
// through q (BuildRequests), every frame checked against the data plane
// contract (a violation fails the evaluation), the expressions, then one
// instance per label set of the condition's result:
//   - a query or expression error, a violation, a condition that is still
//     a series or two condition items with the same labels: one Error instance;
//   - a data query returning no frames, or a No Data response, or a
//     condition whose items are all null without labels: one NoData instance;
//   - otherwise per item: null is NoData, 0 is Normal, anything else
//     (NaN included) is Alerting.
//
// Rule NoDataState/ExecErrState then map NoData and Error to Alerting or
// Normal (OK), keeping the original state in Reason.
func Evaluate(ctx context.Context, q Querier, rule Rule, now time.Time) Evaluation {
	ev := Evaluation{EvaluatedAt: now}
	results, noData, err := run(ctx, q, rule, now)
	if err != nil {
		ev.Err = err
		ev.Instances = []Instance{ruleInstance(rule, Error, err.Error())}
		return ev
	}
	if len(noData) > 0 {
		ev.NoDataRefIDs = noData
		ev.Instances = []Instance{ruleInstance(rule, NoData, "")}
		return ev
	}
	cond := results[rule.Condition]
	if cond.noData {
		ev.Instances = []Instance{ruleInstance(rule, NoData, "")}
		return ev
	}
	seen := map[string]bool{}
	allNoData := true
	for _, it := range cond.items {
		if it.isSeries() {
			ev.Err = fmt.Errorf("condition %s: looks like time series data, only reduced data can be alerted on", rule.Condition)
			break
		}
		l := it.labels.String()
		if seen[l] {
			ev.Err = fmt.Errorf("condition %s: frame cannot uniquely be identified by its labels: has duplicate results with labels {%s}", rule.Condition, l)
			break
		}
		seen[l] = true
		if it.number != nil || len(it.labels) > 0 {
			allNoData = false
		}
	}
	if ev.Err != nil {
		ev.Instances = []Instance{ruleInstance(rule, Error, ev.Err.Error())}
		return ev
	}
	if allNoData {
		ev.Instances = []Instance{ruleInstance(rule, NoData, "")}
		return ev
	}
	items := append([]item(nil), cond.items...)
	sortItems(items)
	for _, it := range items {
		state := Normal
		switch {
		case it.number == nil:
			state = NoData
		case *it.number != 0:
			state = Alerting
		}
		values, evalString := captures(rule, results, it.labels)
		inst := newInstance(rule, it.labels, values, evalString)
		inst.State = state
		ev.Instances = append(ev.Instances, mapState(rule, inst))
	}
	return ev
}

// run executes the data queries and the expressions.
func run(ctx context.Context, q Querier, rule Rule, now time.Time) (map[string]result, map[string]string, error) {
	if rule.Condition == "" {
		return nil, nil, fmt.Errorf("rule %q has no condition", rule.Title)
	}
	found := false
	for _, d := range rule.Data {
		found = found || d.RefID == rule.Condition
	}
	if !found {
		return nil, nil, fmt.Errorf("condition %s is not one of the rule's refIds", rule.Condition)
	}
	reqs, err := BuildRequests(rule, now)
	if err != nil {
		return nil, nil, err
	}
	results := map[string]result{}
	noData := map[string]string{}
	for _, r := range reqs {
		resp, err := q.QueryData(ctx, r.DatasourceUID, r.Request)
		if err != nil {
			return nil, nil, fmt.Errorf("data source %s: %w", r.DatasourceUID, err)
		}
		for _, dq := range r.Request.Queries {
			dr, ok := resp.Responses[dq.RefID]
			if ok && dr.Error != nil {
				return nil, nil, fmt.Errorf("failed to execute query %s: %w", dq.RefID, dr.Error)
			}
			if !ok || len(dr.Frames) == 0 {
				noData[dq.RefID] = r.DatasourceUID
				continue
			}
			read, err := dataplane.Read(dr.Frames)
			if err != nil {
				return nil, nil, fmt.Errorf("query %s: %w", dq.RefID, err)
			}
			results[dq.RefID] = fromResponse(read)
		}
	}
	if len(noData) > 0 {
		return nil, noData, nil
	}
	pending := []Query{}
	for _, d := range rule.Data {
		if d.IsExpression() {
			pending = append(pending, d)
		}
	}
	// Expressions may come in any order: evaluate those whose inputs are
	// ready until none is left (or none can progress: a cycle or a typo).
	for len(pending) > 0 {
		var later []Query
		for _, e := range pending {
			r, err := runExpression(e, results)
			if errors.Is(err, errNotYet) {
				later = append(later, e)
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("expression %s: %w", e.RefID, err)
			}
			results[e.RefID] = r
		}
		if len(later) == len(pending) {
			return nil, nil, fmt.Errorf("expressions %s refer to refIds that are never evaluated", refList(later))
		}
		pending = later
	}
	return results, nil, nil
}

func refList(qs []Query) string {
	ids := make([]string, len(qs))
	for i, q := range qs {
		ids[i] = q.RefID
	}
	return strings.Join(ids, ", ")
}

// captures collects the expression numbers matching labels (equal, or one
// set containing the other), as Grafana's eval does for $values and $value.
func captures(rule Rule, results map[string]result, labels data.Labels) (map[string]Value, string) {
	values := map[string]Value{}
	var parts []string
	for _, d := range rule.Data {
		if !d.IsExpression() {
			continue
		}
		for _, it := range results[d.RefID].items {
			if it.isSeries() || !(labels.Equals(it.labels) || labels.Contains(it.labels) || it.labels.Contains(labels)) {
				continue
			}
			v, s := math.NaN(), "null"
			if it.number != nil {
				v, s = *it.number, fmt.Sprintf("%v", *it.number)
			}
			values[d.RefID] = Value{Labels: it.labels.Copy(), Value: v}
			parts = append(parts, fmt.Sprintf("[ var='%s' labels={%s} value=%s ]", d.RefID, it.labels, s))
		}
	}
	return values, strings.Join(parts, ", ")
}

// newInstance builds an instance's labels and renders its annotations.
func newInstance(rule Rule, series data.Labels, values map[string]Value, evalString string) Instance {
	labels := map[string]string{"alertname": rule.Title}
	if rule.Folder != "" {
		labels["grafana_folder"] = rule.Folder
	}
	// Rule labels are templates too, rendered with the series' labels.
	for _, k := range refIDs(rule.Labels) {
		if _, ok := labels[k]; !ok {
			labels[k] = render("label_"+k, rule.Labels[k], series, values, evalString)
		}
	}
	for k, v := range series {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	inst := Instance{Labels: labels, Values: values, EvaluationString: evalString, Annotations: map[string]string{}}
	for _, k := range refIDs(rule.Annotations) {
		inst.Annotations[k] = render(k, rule.Annotations[k], labels, values, evalString)
	}
	return inst
}

// ruleInstance is the single instance of a NoData or Error evaluation.
func ruleInstance(rule Rule, state State, errMsg string) Instance {
	inst := newInstance(rule, nil, map[string]Value{}, "")
	inst.State = state
	inst.Error = errMsg
	return mapState(rule, inst)
}

// mapState applies the rule's NoDataState / ExecErrState.
func mapState(rule Rule, inst Instance) Instance {
	var to string
	switch inst.State {
	case NoData:
		to = rule.NoDataState
	case Error:
		to = rule.ExecErrState
	default:
		return inst
	}
	switch to {
	case "Alerting":
		inst.Reason, inst.State = string(inst.State), Alerting
	case "OK":
		inst.Reason, inst.State = string(inst.State), Normal
	}
	return inst
}
