package grafanaprov

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ExprDatasourceUID is the uid rules give to server-side expressions.
const ExprDatasourceUID = "__expr__"

// BaseInterval is Grafana's default scheduler tick ([unified_alerting]
// base_interval): a group's interval must be a positive multiple of it.
const BaseInterval = 10 * time.Second

// Grafana 10's allowed states for a rule without data or with an evaluation error.
var (
	noDataStates  = []string{"NoData", "Alerting", "OK"}
	execErrStates = []string{"Error", "Alerting", "OK"}
)

// Expression types and their options in Grafana 10 (server-side expressions).
var (
	exprTypes          = []string{"math", "reduce", "resample", "classic_conditions", "threshold"}
	reduceReducers     = []string{"sum", "mean", "min", "max", "count", "last", "median"}
	reduceModes        = []string{"", "dropNN", "replaceNN"} // "" is strict
	thresholdEvals     = map[string]int{"gt": 1, "lt": 1, "within_range": 2, "outside_range": 2}
	classicEvals       = map[string]int{"gt": 1, "lt": 1, "within_range": 2, "outside_range": 2, "no_value": 0}
	classicReducers    = []string{"avg", "min", "max", "sum", "count", "last", "median", "diff", "diff_abs", "percent_diff", "percent_diff_abs", "count_non_null"}
	classicOperators   = []string{"and", "or"}
	resampleDown       = []string{"min", "max", "mean", "sum", "last"}
	resampleUp         = []string{"pad", "backfilling", "fillna"}
	mathRefRe          = regexp.MustCompile(`\$\{([^}]+)\}|\$([A-Za-z0-9_]+)`)
	matcherRe          = regexp.MustCompile(`^\s*([A-Za-z_:][A-Za-z0-9_:]*|"[^"]*")\s*(=~|!~|!=|=)\s*(.*)$`)
	objectMatcherTypes = []string{"=", "!=", "=~", "!~"}
)

// receiverRequired lists, per contact point type, the settings Grafana
// requires (the "<string, required>" entries of the file-provisioning docs).
var receiverRequired = map[string][]string{
	"prometheus-alertmanager": {"url"},
	"dingding":                {"url"},
	"discord":                 {"url"},
	"email":                   {"addresses"},
	"googlechat":              {"url"},
	"kafka":                   {"kafkaRestProxy", "kafkaTopic"},
	"line":                    {"token"},
	"teams":                   {"url"},
	"opsgenie":                {"apiKey", "apiUrl"},
	"pagerduty":               {"integrationKey"},
	"pushover":                {"apiToken", "userKey"},
	"slack":                   {},
	"sensugo":                 {"url", "apikey"},
	"telegram":                {"bottoken", "chatid"},
	"threema":                 {"api_secret", "gateway_id", "recipient_id"},
	"victorops":               {"url"},
	"webhook":                 {"url"},
	"wecom":                   {},
}

// LoadAlerting reads an alerting provisioning file, expanding $VARIABLES
// where Grafana does (not in rule annotations, query models, notification
// policies or templates), and checks what can be checked within the file.
// CheckAlerting checks references between files.
func LoadAlerting(path string, env func(string) string) (*AlertingFile, error) {
	f := &AlertingFile{Path: path}
	if err := decodeFile(path, env, true, f); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return f, err
	}
	return f, nil
}

func (f *AlertingFile) check() error {
	c := &errs{file: f.Path}
	if f.APIVersion != 1 {
		c.add("apiVersion", 0, "must be 1, got %d", f.APIVersion)
	}
	for i, g := range f.Groups {
		checkGroup(c, fmt.Sprintf("groups[%d]", i), g)
	}
	for i, cp := range f.ContactPoints {
		checkContactPoint(c, fmt.Sprintf("contactPoints[%d]", i), cp)
	}
	for i, p := range f.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		if p.Receiver == "" {
			c.add(path+".receiver", p.Line, "is required on the root policy")
		}
		checkRoute(c, path, p.Route, true)
	}
	for i, t := range f.Templates {
		if t.Name == "" {
			c.add(fmt.Sprintf("templates[%d].name", i), t.Line, "is required")
		}
	}
	for i, m := range f.MuteTimes {
		if m.Name == "" {
			c.add(fmt.Sprintf("muteTimes[%d].name", i), m.Line, "is required")
		}
	}
	return c.err()
}

func checkGroup(c *errs, p string, g RuleGroup) {
	if strings.TrimSpace(g.Name) == "" {
		c.add(p+".name", g.Line, "is required")
	}
	if strings.TrimSpace(g.Folder) == "" {
		c.add(p+".folder", g.Line, "is required")
	}
	switch iv, err := ParseDuration(g.Interval); {
	case g.Interval == "":
		c.add(p+".interval", g.Line, "is required (e.g. 1m)")
	case err != nil:
		c.add(p+".interval", g.Line, "%v", err)
	case iv <= 0 || iv%BaseInterval != 0:
		c.add(p+".interval", g.Line, "%s is not a positive multiple of the scheduler's base interval %s", g.Interval, BaseInterval)
	}
	if len(g.Rules) == 0 {
		c.add(p+".rules", g.Line, "is empty: a group needs at least one rule")
	}
	for i, r := range g.Rules {
		checkRule(c, fmt.Sprintf("%s.rules[%d]", p, i), r)
	}
}

func checkRule(c *errs, p string, r Rule) {
	if !uidRe.MatchString(r.UID) {
		c.add(p+".uid", r.Line, "%q must be 1 to 40 letters, digits, '-' or '_'", r.UID)
	}
	if strings.TrimSpace(r.Title) == "" {
		c.add(p+".title", r.Line, "is required")
	}
	if r.For != "" {
		if d, err := ParseDuration(r.For); err != nil {
			c.add(p+".for", r.Line, "%v", err)
		} else if d < 0 {
			c.add(p+".for", r.Line, "must not be negative")
		}
	}
	if r.NoDataState != "" && !contains(noDataStates, r.NoDataState) {
		c.add(p+".noDataState", r.Line, "%q is not one of %v", r.NoDataState, noDataStates)
	}
	if r.ExecErrState != "" && !contains(execErrStates, r.ExecErrState) {
		c.add(p+".execErrState", r.Line, "%q is not one of %v", r.ExecErrState, execErrStates)
	}
	if len(r.Data) == 0 {
		c.add(p+".data", r.Line, "is empty: a rule needs at least one query")
		return
	}
	refs := map[string]bool{}
	for i, q := range r.Data {
		qp := fmt.Sprintf("%s.data[%d]", p, i)
		switch {
		case q.RefID == "":
			c.add(qp+".refId", q.Line, "is required")
		case refs[q.RefID]:
			c.add(qp+".refId", q.Line, "%q is used by another query of this rule", q.RefID)
		}
		refs[q.RefID] = true
	}
	switch {
	case r.Condition == "":
		c.add(p+".condition", r.Line, "is required (the refId whose result fires the rule)")
	case !refs[r.Condition]:
		c.add(p+".condition", r.Line, "%q names no query of this rule (refIds: %s)", r.Condition, refList(r.Data))
	}
	for i, q := range r.Data {
		checkQuery(c, fmt.Sprintf("%s.data[%d]", p, i), q, refs)
	}
}

func refList(data []Query) string {
	ids := make([]string, len(data))
	for i, q := range data {
		ids[i] = q.RefID
	}
	return strings.Join(ids, ", ")
}

func checkQuery(c *errs, p string, q Query, refs map[string]bool) {
	if q.DatasourceUID == "" {
		c.add(p+".datasourceUid", q.Line, "is required (a provisioned data source uid or %s)", ExprDatasourceUID)
	}
	if q.Model == nil {
		c.add(p+".model", q.Line, "is required")
		return
	}
	if id, ok := q.Model["refId"]; ok && id != q.RefID {
		c.add(p+".model.refId", q.Line, "%v differs from the query's refId %q", id, q.RefID)
	}
	if q.DatasourceUID != ExprDatasourceUID {
		rtr := q.RelativeTimeRange
		if rtr.To < 0 || rtr.From <= rtr.To {
			c.add(p+".relativeTimeRange", q.Line, "from (%d s) must be greater than to (%d s), both before the evaluation time", rtr.From, rtr.To)
		}
		return
	}
	checkExpression(c, p+".model", q.Line, q.RefID, q.Model, refs)
}

// checkExpression checks one server-side expression: its type, its options
// and that the refIds it reads exist (and are not itself).
func checkExpression(c *errs, p string, line int, self string, m map[string]any, refs map[string]bool) {
	typ, _ := m["type"].(string)
	if !contains(exprTypes, typ) {
		c.add(p+".type", line, "%q is not an expression type (%v)", m["type"], exprTypes)
		return
	}
	ref := func(field, id string) {
		switch {
		case id == "":
			c.add(p+"."+field, line, "is required: the refId this %s reads", typ)
		case id == self:
			c.add(p+"."+field, line, "%q refers to the expression itself", id)
		case !refs[id]:
			c.add(p+"."+field, line, "%q names no query of this rule", id)
		}
	}
	expr, _ := m["expression"].(string)
	switch typ {
	case "reduce":
		ref("expression", expr)
		if r, _ := m["reducer"].(string); !contains(reduceReducers, r) {
			c.add(p+".reducer", line, "%q is not one of %v", m["reducer"], reduceReducers)
		}
		settings, _ := m["settings"].(map[string]any)
		mode, _ := settings["mode"].(string)
		if !contains(reduceModes, mode) {
			c.add(p+".settings.mode", line, "%q is not one of %v", settings["mode"], reduceModes[1:])
		}
		if _, isNum := settings["replaceWithValue"].(float64); mode == "replaceNN" && !isNum {
			c.add(p+".settings.replaceWithValue", line, "is required (a number) with mode replaceNN")
		}
	case "math":
		if strings.TrimSpace(expr) == "" {
			c.add(p+".expression", line, "is required (e.g. $A > 0)")
		}
		for _, sub := range mathRefRe.FindAllStringSubmatch(expr, -1) {
			ref("expression", sub[1]+sub[2])
		}
	case "resample":
		ref("expression", expr)
		if w, _ := m["window"].(string); w == "" {
			c.add(p+".window", line, "is required (e.g. 1m)")
		} else if _, err := ParseDuration(w); err != nil {
			c.add(p+".window", line, "%v", err)
		}
		if d, _ := m["downsampler"].(string); !contains(resampleDown, d) {
			c.add(p+".downsampler", line, "%q is not one of %v", m["downsampler"], resampleDown)
		}
		if u, _ := m["upsampler"].(string); !contains(resampleUp, u) {
			c.add(p+".upsampler", line, "%q is not one of %v", m["upsampler"], resampleUp)
		}
	case "threshold":
		ref("expression", expr)
		conds := conditionList(c, p, line, m)
		if len(conds) > 0 {
			checkCondition(c, p+".conditions[0]", line, conds[0], thresholdEvals, nil, nil)
		}
	case "classic_conditions":
		conds := conditionList(c, p, line, m)
		for i, cond := range conds {
			cp := fmt.Sprintf("%s.conditions[%d]", p, i)
			checkCondition(c, cp, line, cond, classicEvals, classicReducers, classicOperators)
			params, _ := dig(cond, "query", "params").([]any)
			id := ""
			if len(params) > 0 {
				id, _ = params[0].(string)
			}
			switch {
			case id == "":
				c.add(cp+".query.params", line, "must start with the refId the condition reads")
			case id == self || !refs[id]:
				c.add(cp+".query.params[0]", line, "%q names no other query of this rule", id)
			}
		}
	}
}

func conditionList(c *errs, p string, line int, m map[string]any) []map[string]any {
	raw, _ := m["conditions"].([]any)
	if len(raw) == 0 {
		c.add(p+".conditions", line, "is required: a list with the evaluator (type, params)")
		return nil
	}
	out := make([]map[string]any, 0, len(raw))
	for i, r := range raw {
		cm, ok := r.(map[string]any)
		if !ok {
			c.add(fmt.Sprintf("%s.conditions[%d]", p, i), line, "must be a mapping")
			continue
		}
		out = append(out, cm)
	}
	return out
}

// checkCondition checks a condition's evaluator, and the operator, query and
// reducer that Grafana's own export writes: Grafana 10.0's rule editor
// cannot open a threshold rule without them.
func checkCondition(c *errs, p string, line int, cond map[string]any, evals map[string]int, reducers, operators []string) {
	et, _ := dig(cond, "evaluator", "type").(string)
	n, known := evals[et]
	if !known {
		c.add(p+".evaluator.type", line, "%q is not one of %v", dig(cond, "evaluator", "type"), sortedKeys(evals))
	} else {
		params, _ := dig(cond, "evaluator", "params").([]any)
		nums := 0
		for _, v := range params {
			if _, ok := v.(float64); ok {
				nums++
			}
		}
		if nums != len(params) || len(params) < n {
			c.add(p+".evaluator.params", line, "%s needs %d number(s), got %v", et, n, dig(cond, "evaluator", "params"))
		}
	}
	op, _ := dig(cond, "operator", "type").(string)
	if operators == nil {
		operators = classicOperators
	}
	if !contains(operators, op) {
		c.add(p+".operator.type", line, "%q is not one of %v", dig(cond, "operator", "type"), operators)
	}
	if _, ok := dig(cond, "query", "params").([]any); !ok {
		c.add(p+".query.params", line, "is required (a list)")
	}
	rt, _ := dig(cond, "reducer", "type").(string)
	if reducers == nil {
		reducers = classicReducers
	}
	if !contains(reducers, rt) {
		c.add(p+".reducer.type", line, "%q is not one of %v", dig(cond, "reducer", "type"), reducers)
	}
}

func dig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func checkContactPoint(c *errs, p string, cp ContactPoint) {
	if strings.TrimSpace(cp.Name) == "" {
		c.add(p+".name", cp.Line, "is required")
	}
	if len(cp.Receivers) == 0 {
		c.add(p+".receivers", cp.Line, "is empty: a contact point needs at least one receiver")
	}
	for i, r := range cp.Receivers {
		rp := fmt.Sprintf("%s.receivers[%d]", p, i)
		if !uidRe.MatchString(r.UID) {
			c.add(rp+".uid", r.Line, "%q must be 1 to 40 letters, digits, '-' or '_'", r.UID)
		}
		required, known := receiverRequired[r.Type]
		if !known {
			c.add(rp+".type", r.Line, "%q is not a contact point type (%v)", r.Type, sortedKeys(receiverRequired))
			continue
		}
		for _, k := range required {
			if s, _ := r.Settings[k].(string); strings.TrimSpace(s) == "" {
				c.add(rp+".settings."+k, r.Line, "is required for %s (empty after expanding the environment?)", r.Type)
			}
		}
		switch r.Type {
		case "webhook":
			checkWebhook(c, rp, r)
		case "email":
			if s, _ := r.Settings["addresses"].(string); strings.TrimSpace(s) != "" {
				for _, a := range splitAddresses(s) {
					if _, err := mail.ParseAddress(a); err != nil {
						c.add(rp+".settings.addresses", r.Line, "%q is not an email address", a)
					}
				}
			}
		}
	}
}

func checkWebhook(c *errs, rp string, r Receiver) {
	if s, _ := r.Settings["url"].(string); strings.TrimSpace(s) != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL may hold a token: say what is wrong, not what it is.
			c.add(rp+".settings.url", r.Line, "must be an absolute http(s) URL")
		}
	}
	if m, ok := r.Settings["httpMethod"]; ok && m != "POST" && m != "PUT" {
		c.add(rp+".settings.httpMethod", r.Line, "%v is not POST or PUT", m)
	}
	_, hasUser := r.Settings["username"]
	_, hasCreds := r.Settings["authorization_credentials"]
	if hasUser && hasCreds {
		c.add(rp+".settings", r.Line, "basic auth (username) and authorization_credentials cannot both be set")
	}
	if v, ok := r.Settings["maxAlerts"]; ok {
		switch x := v.(type) {
		case float64:
		case string:
			if _, err := strconv.Atoi(x); err != nil && x != "" {
				c.add(rp+".settings.maxAlerts", r.Line, "%q is not a whole number", x)
			}
		default:
			c.add(rp+".settings.maxAlerts", r.Line, "must be a number")
		}
	}
}

// splitAddresses splits an email contact point's list the way Grafana does:
// on semicolons, commas and newlines.
func splitAddresses(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == '\n' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func checkRoute(c *errs, p string, r Route, root bool) {
	for _, f := range []struct{ name, v string }{{"group_wait", r.GroupWait}, {"group_interval", r.GroupInterval}, {"repeat_interval", r.RepeatInterval}} {
		if f.v == "" {
			continue
		}
		if d, err := ParseDuration(f.v); err != nil {
			c.add(p+"."+f.name, r.Line, "%v", err)
		} else if d <= 0 && f.name != "group_wait" {
			c.add(p+"."+f.name, r.Line, "must be greater than 0")
		}
	}
	if root && (len(r.Matchers) > 0 || len(r.ObjectMatchers) > 0) {
		c.add(p, r.Line, "the root policy matches every alert: it cannot have matchers")
	}
	if root && len(r.MuteTimeIntervals) > 0 {
		c.add(p+".mute_time_intervals", r.Line, "the root policy cannot have mute timings")
	}
	for i, m := range r.Matchers {
		if !matcherRe.MatchString(m) {
			c.add(fmt.Sprintf("%s.matchers[%d]", p, i), r.Line, "%q is not a matcher (label = value, !=, =~ or !~)", m)
		}
	}
	for i, m := range r.ObjectMatchers {
		if len(m) != 3 || !contains(objectMatcherTypes, m[1]) {
			c.add(fmt.Sprintf("%s.object_matchers[%d]", p, i), r.Line, "must be [label, operator (=, !=, =~, !~), value], got %q", m)
		}
	}
	for i, sub := range r.Routes {
		checkRoute(c, fmt.Sprintf("%s.routes[%d]", p, i), sub, false)
	}
}

// CheckAlerting checks what spans files: rule and receiver uids unique,
// rule queries naming provisioned data sources, policies naming existing
// contact points (in the same organization), one policy tree per organization.
func CheckAlerting(files []*AlertingFile, datasources []*DatasourcesFile) error {
	c := &errs{}
	dsUIDs := map[string]Datasource{}
	for _, df := range datasources {
		for _, ds := range df.Datasources {
			dsUIDs[fmt.Sprint(orgOr1(ds.OrgID), "/", ds.UID)] = ds
		}
	}
	type where struct{ file, path string }
	ruleUIDs := map[string]where{}
	recvUIDs := map[string]where{}
	groups := map[string]where{}
	contactPoints := map[string]bool{}
	for _, f := range files {
		for _, cp := range f.ContactPoints {
			contactPoints[fmt.Sprint(orgOr1(cp.OrgID), "/", cp.Name)] = true
		}
	}
	policies := map[int64]where{}
	for _, f := range files {
		c.file = f.Path
		for gi, g := range f.Groups {
			org := orgOr1(g.OrgID)
			gp := fmt.Sprintf("groups[%d]", gi)
			key := fmt.Sprint(org, "/", g.Folder, "/", g.Name)
			if w, dup := groups[key]; dup {
				c.add(gp+".name", g.Line, "group %q of folder %q is also defined in %s %s", g.Name, g.Folder, w.file, w.path)
			} else {
				groups[key] = where{f.Path, gp}
			}
			for ri, r := range g.Rules {
				rp := fmt.Sprintf("%s.rules[%d]", gp, ri)
				if w, dup := ruleUIDs[r.UID]; dup {
					c.add(rp+".uid", r.Line, "%q is also used by %s %s", r.UID, w.file, w.path)
				} else {
					ruleUIDs[r.UID] = where{f.Path, rp}
				}
				for qi, q := range r.Data {
					if q.DatasourceUID == ExprDatasourceUID || q.DatasourceUID == "" {
						continue
					}
					ds, ok := dsUIDs[fmt.Sprint(org, "/", q.DatasourceUID)]
					if !ok {
						c.add(fmt.Sprintf("%s.data[%d].datasourceUid", rp, qi), q.Line, "%q is not a data source provisioned for org %d (nor %s)", q.DatasourceUID, org, ExprDatasourceUID)
						continue
					}
					if !settingsOK(ds) {
						continue
					}
					if err := CheckVigilQuery(ds, q.RefID, q.QueryType, q.Model, time.Duration(q.RelativeTimeRange.From-q.RelativeTimeRange.To)*time.Second); err != nil {
						c.add(fmt.Sprintf("%s.data[%d].model", rp, qi), q.Line, "%v", err)
					}
				}
			}
		}
		for ci, cp := range f.ContactPoints {
			for ri, r := range cp.Receivers {
				rp := fmt.Sprintf("contactPoints[%d].receivers[%d]", ci, ri)
				if w, dup := recvUIDs[r.UID]; dup {
					c.add(rp+".uid", r.Line, "%q is also used by %s %s", r.UID, w.file, w.path)
				} else {
					recvUIDs[r.UID] = where{f.Path, rp}
				}
			}
		}
		for pi, p := range f.Policies {
			org := orgOr1(p.OrgID)
			pp := fmt.Sprintf("policies[%d]", pi)
			if w, dup := policies[org]; dup {
				c.add(pp, p.Line, "org %d already has a policy tree in %s %s", org, w.file, w.path)
			} else {
				policies[org] = where{f.Path, pp}
			}
			checkRouteReceivers(c, pp, p.Route, org, contactPoints)
		}
	}
	return c.err()
}

func checkRouteReceivers(c *errs, p string, r Route, org int64, cps map[string]bool) {
	if r.Receiver != "" && !cps[fmt.Sprint(org, "/", r.Receiver)] {
		c.add(p+".receiver", r.Line, "%q is not a contact point provisioned for org %d", r.Receiver, org)
	}
	for i, sub := range r.Routes {
		checkRouteReceivers(c, fmt.Sprintf("%s.routes[%d]", p, i), sub, org, cps)
	}
}

// durationRe is Prometheus's duration syntax, which Grafana's provisioning
// uses for intervals and for: units y, w, d, h, m, s, ms in that order.
var durationRe = regexp.MustCompile(`^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$`)

// ParseDuration parses a Prometheus-style duration such as 1h30m, 10s or 0.
func ParseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	m := durationRe.FindStringSubmatch(s)
	if s == "" || m == nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 10s, 5m, 1h30m)", s)
	}
	units := []time.Duration{365 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second, time.Millisecond}
	var d time.Duration
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(1<<62)/int64(u) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		d += time.Duration(n) * u
	}
	return d, nil
}
