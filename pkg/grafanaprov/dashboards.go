package grafanaprov

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// GrafanaDatasourceUID is the built-in "-- Grafana --" data source of the
// dashboard's built-in annotations and alerts query.
const GrafanaDatasourceUID = "-- Grafana --"

// registerPanels makes the SDK decode these panel types' options and custom
// field config strictly against their published schemas. A panel of another
// type is refused: its options could not be checked.
var registerPanels = sync.OnceFunc(func() {
	rt := cog.NewRuntime()
	rt.RegisterPanelcfgVariant(timeseries.VariantConfig())
	rt.RegisterPanelcfgVariant(table.VariantConfig())
	rt.RegisterPanelcfgVariant(stat.VariantConfig())
	rt.RegisterPanelcfgVariant(gauge.VariantConfig())
	rt.RegisterPanelcfgVariant(bargauge.VariantConfig())
	rt.RegisterPanelcfgVariant(statetimeline.VariantConfig())
	rt.RegisterPanelcfgVariant(text.VariantConfig())
})

// Dashboard is a dashboard JSON file, decoded twice: Schema by the
// grafana-foundation-sdk's published dashboard types (strictly), and the
// parts this package reads (variables, panels, targets) as written.
type Dashboard struct {
	Path  string
	UID   string
	Title string
	//lint:ignore SA1019 provisioned dashboards are v1 JSON, the schema Grafana 10 reads
	Schema *dashboard.Dashboard

	raw rawDashboard
}

// DatasourceRef is a panel's, target's or annotation's data source.
type DatasourceRef struct {
	Type string `json:"type,omitempty"`
	UID  string `json:"uid,omitempty"`
}

type rawDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []rawVariable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []rawAnnotation `json:"list"`
	} `json:"annotations"`
	Panels []rawPanel `json:"panels"`
}

type rawVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

type rawAnnotation struct {
	Name       string          `json:"name"`
	Enable     bool            `json:"enable"`
	BuiltIn    float64         `json:"builtIn"`
	Datasource *DatasourceRef  `json:"datasource"`
	Target     json.RawMessage `json:"target"`
}

type rawPanel struct {
	ID            int64             `json:"id"`
	Type          string            `json:"type"`
	Title         string            `json:"title"`
	Datasource    *DatasourceRef    `json:"datasource"`
	Targets       []json.RawMessage `json:"targets"`
	FieldConfig   json.RawMessage   `json:"fieldConfig"`
	Options       json.RawMessage   `json:"options"`
	Repeat        string            `json:"repeat"`
	MaxDataPoints float64           `json:"maxDataPoints"`
	Interval      string            `json:"interval"`
	Panels        []rawPanel        `json:"panels"`
}

// LoadDashboard reads a dashboard JSON file and validates it against
// Grafana's published dashboard schema (grafana-foundation-sdk, strict:
// unknown fields, wrong types and missing required fields are errors, and
// each panel's options and custom field config are checked against its
// panel type's schema). Environment variables are not expanded: Grafana does
// not expand them in dashboard files.
func LoadDashboard(path string) (*Dashboard, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseDashboard(path, data)
}

// ParseDashboard is LoadDashboard on bytes; name is used in messages.
func ParseDashboard(name string, data []byte) (*Dashboard, error) {
	registerPanels()
	c := &errs{file: name}
	//lint:ignore SA1019 as above: v1 dashboards
	d := &Dashboard{Path: name, Schema: &dashboard.Dashboard{}}
	if err := json.Unmarshal(data, &d.raw); err != nil {
		c.add("", 0, "not a dashboard JSON object: %v", err)
		return nil, c.err()
	}
	d.UID, d.Title = d.raw.UID, d.raw.Title
	schemaErrors(c, "", d.Schema.UnmarshalJSONStrict(data))
	if c.err() == nil {
		schemaErrors(c, "", d.Schema.Validate())
	}
	// The SDK reads fieldConfig loosely apart from defaults.custom: read the rest strictly too.
	var fc struct {
		Panels []struct {
			FieldConfig json.RawMessage `json:"fieldConfig"`
		} `json:"panels"`
	}
	_ = json.Unmarshal(data, &fc)
	for i, p := range fc.Panels {
		if len(p.FieldConfig) > 0 && string(p.FieldConfig) != "null" {
			var src dashboard.FieldConfigSource
			schemaErrors(c, fmt.Sprintf("panels[%d].fieldConfig", i), src.UnmarshalJSONStrict(p.FieldConfig))
		}
	}
	for i, p := range d.raw.Panels {
		if _, ok := cog.ConfigForPanelcfgVariant(p.Type); !ok && p.Type != "row" {
			c.add(fmt.Sprintf("panels[%d].type", i), 0, "%q has no published panel schema registered here (known: timeseries, table, stat, gauge, bargauge, state-timeline, text, row)", p.Type)
		}
	}
	return d, c.err()
}

// schemaErrors turns the SDK's error list (one "path: reason" per problem)
// into Errors; the SDK returns a non-nil error holding an empty list on success.
func schemaErrors(c *errs, prefix string, err error) {
	var be cog.BuildErrors
	if errors.As(err, &be) {
		for _, e := range be {
			c.add(fieldPath(prefix, e.Path), 0, "does not match Grafana's dashboard schema: %s", e.Message)
		}
		return
	}
	if err != nil {
		c.add(prefix, 0, "does not match Grafana's dashboard schema: %v", err)
	}
}

// CheckDashboard checks what the schema cannot: every panel and annotation
// query goes to a provisioned data source (by uid, or a dashboard variable),
// the built-in annotation to "-- Grafana --"; every panel has targets with
// unique refIds; targets refer only to variables the dashboard defines.
func CheckDashboard(d *Dashboard, datasources []*DatasourcesFile) error {
	c := &errs{file: d.Path}
	dsUIDs := map[string]bool{}
	for _, f := range datasources {
		for _, ds := range f.Datasources {
			dsUIDs[ds.UID] = true
		}
	}
	if !uidRe.MatchString(d.UID) {
		c.add("uid", 0, "%q must be 1 to 40 letters, digits, '-' or '_'", d.UID)
	}
	if strings.TrimSpace(d.Title) == "" {
		c.add("title", 0, "is required")
	}
	vars := map[string]bool{}
	for i, v := range d.raw.Templating.List {
		if !contains(expandableVariables, v.Type) {
			c.add(fmt.Sprintf("templating.list[%d].type", i), 0, "%q: only %v variables can be expanded without Grafana", v.Type, expandableVariables)
		}
		vars[v.Name] = true
	}
	checkRef := func(path string, ref *DatasourceRef, required bool) {
		switch {
		case ref == nil:
			if required {
				c.add(path, 0, "is required: name the provisioned data source")
			}
		case strings.HasPrefix(ref.UID, "$"):
			if !vars[strings.Trim(ref.UID, "${}")] {
				c.add(path+".uid", 0, "%q names no variable of this dashboard", ref.UID)
			}
		case !dsUIDs[ref.UID]:
			c.add(path+".uid", 0, "%q is not a provisioned data source uid", ref.UID)
		}
	}
	ids := map[int64]bool{}
	for i, p := range flattenPanels(d.raw.Panels) {
		pp := fmt.Sprintf("panels[%d]", i)
		if ids[p.ID] {
			c.add(pp+".id", 0, "%d is used by another panel", p.ID)
		}
		ids[p.ID] = true
		if p.Repeat != "" && !vars[p.Repeat] {
			c.add(pp+".repeat", 0, "%q names no variable of this dashboard", p.Repeat)
		}
		if p.Type == "text" {
			continue
		}
		checkRef(pp+".datasource", p.Datasource, true)
		if len(p.Targets) == 0 {
			c.add(pp+".targets", 0, "is empty: the panel would show no data")
		}
		refs := map[string]bool{}
		for j, raw := range p.Targets {
			tp := fmt.Sprintf("%s.targets[%d]", pp, j)
			var t struct {
				RefID      string         `json:"refId"`
				Datasource *DatasourceRef `json:"datasource"`
			}
			_ = json.Unmarshal(raw, &t)
			switch {
			case t.RefID == "":
				c.add(tp+".refId", 0, "is required")
			case refs[t.RefID]:
				c.add(tp+".refId", 0, "%q is used by another target of this panel", t.RefID)
			}
			refs[t.RefID] = true
			checkRef(tp+".datasource", t.Datasource, false)
			checkVariableRefs(c, tp, raw, vars)
		}
	}
	for i, a := range d.raw.Annotations.List {
		ap := fmt.Sprintf("annotations.list[%d]", i)
		if a.BuiltIn == 1 {
			if a.Datasource == nil || a.Datasource.UID != GrafanaDatasourceUID {
				c.add(ap+".datasource", 0, "the built-in annotation query must use %q", GrafanaDatasourceUID)
			}
			continue
		}
		checkRef(ap+".datasource", a.Datasource, true)
		if len(a.Target) == 0 || string(a.Target) == "null" {
			c.add(ap+".target", 0, "is required: the query that returns the annotations")
			continue
		}
		checkVariableRefs(c, ap+".target", a.Target, vars)
	}
	return c.err()
}

// varRefRe finds dashboard variable references: $name, ${name}, ${name:format}, [[name]].
var varRefRe = regexp.MustCompile(`\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]`)

// builtInVariable is a variable Grafana itself defines ($__interval, $__from, ...).
func builtInVariable(name string) bool {
	return strings.HasPrefix(name, "__") || name == "interval" || name == "timeFilter"
}

func checkVariableRefs(c *errs, path string, raw json.RawMessage, vars map[string]bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		c.add(path, 0, "not a JSON object: %v", err)
		return
	}
	walkStrings(v, path, func(p, s string) {
		for _, m := range varRefRe.FindAllStringSubmatch(s, -1) {
			name := m[1] + m[3] + m[4]
			if !vars[name] && !builtInVariable(name) {
				c.add(p, 0, "refers to $%s, which is not a variable of this dashboard", name)
			}
		}
	})
}

func walkStrings(v any, path string, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case []any:
		for i, e := range x {
			walkStrings(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			walkStrings(x[k], fieldPath(path, k), fn)
		}
	}
}

func flattenPanels(ps []rawPanel) []rawPanel {
	var out []rawPanel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, flattenPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// PanelQuery is one query a dashboard sends: a panel target (one per
// repetition of a repeated panel) or an annotation query, with the
// dashboard's variables expanded as Grafana's front end and Vigil's
// applyTemplateVariables would.
type PanelQuery struct {
	DashboardUID string `json:"dashboardUid"`
	PanelID      int64  `json:"panelId,omitempty"`
	// PanelTitle is expanded (a repeated panel's title names its value).
	PanelTitle string `json:"title,omitempty"`
	PanelType  string `json:"type,omitempty"`
	// FieldConfig and Options are the panel's, as written in the file, for a renderer.
	FieldConfig json.RawMessage `json:"fieldConfig,omitempty"`
	Options     json.RawMessage `json:"options,omitempty"`
	// MaxDataPoints and Interval are the panel's query options, zero when unset.
	MaxDataPoints int64         `json:"maxDataPoints,omitempty"`
	Interval      string        `json:"interval,omitempty"`
	Datasource    DatasourceRef `json:"datasource"`
	RefID         string        `json:"refId"`
	// Model is the target with variables replaced, ready to send as a query's JSON.
	Model map[string]any `json:"model"`
	// Annotation is set for an annotation query; AnnotationName is its name.
	Annotation     bool   `json:"annotation,omitempty"`
	AnnotationName string `json:"annotationName,omitempty"`
	// ScopedVars are the variable values this query was expanded with.
	ScopedVars map[string][]string `json:"scopedVars,omitempty"`
}

// expandableVariables are the variable types whose values are in the file.
var expandableVariables = []string{"custom", "constant", "textbox"}

type variable struct {
	options  []string // every value the variable offers
	selected []string // the current value(s), All expanded
	allValue string   // custom All value, used instead of the list when All is selected
	all      bool
}

// DashboardQueries lists every panel target and annotation query of d with
// the dashboard's current variable values: a panel with repeat is repeated
// per selected value (with that single value in its title and targets); in
// other panels a multi-value variable becomes one entry per value in a list
// of strings and {a,b} in a string (Grafana's default format).
func DashboardQueries(d *Dashboard) ([]PanelQuery, error) {
	c := &errs{file: d.Path}
	vars := map[string]variable{}
	for i, v := range d.raw.Templating.List {
		val, err := readVariable(v)
		if err != nil {
			c.add(fmt.Sprintf("templating.list[%d]", i), 0, "%v", err)
			continue
		}
		vars[v.Name] = val
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	defaultRef := DatasourceRef{}
	var out []PanelQuery
	for i, p := range flattenPanels(d.raw.Panels) {
		if p.Type == "text" {
			continue
		}
		scopes := []map[string]variable{nil}
		if p.Repeat != "" {
			v, ok := vars[p.Repeat]
			if !ok {
				c.add(fmt.Sprintf("panels[%d].repeat", i), 0, "%q names no variable", p.Repeat)
				continue
			}
			scopes = scopes[:0]
			for _, val := range v.selected {
				scopes = append(scopes, map[string]variable{p.Repeat: {options: v.options, selected: []string{val}}})
			}
		}
		for _, scope := range scopes {
			lookup := func(name string) (variable, bool) {
				if v, ok := scope[name]; ok {
					return v, true
				}
				v, ok := vars[name]
				return v, ok
			}
			ref := defaultRef
			if p.Datasource != nil {
				ref = *p.Datasource
			}
			for j, raw := range p.Targets {
				var model map[string]any
				if err := json.Unmarshal(raw, &model); err != nil {
					c.add(fmt.Sprintf("panels[%d].targets[%d]", i, j), 0, "not a JSON object: %v", err)
					continue
				}
				model = expandValue(model, lookup).(map[string]any)
				q := PanelQuery{
					DashboardUID:  d.UID,
					PanelID:       p.ID,
					PanelTitle:    replaceVars(p.Title, lookup),
					PanelType:     p.Type,
					FieldConfig:   p.FieldConfig,
					Options:       p.Options,
					MaxDataPoints: int64(p.MaxDataPoints),
					Interval:      p.Interval,
					Datasource:    targetRef(model, ref),
					Model:         model,
					ScopedVars:    scopedValues(scope, vars),
				}
				q.RefID, _ = model["refId"].(string)
				out = append(out, q)
			}
		}
	}
	for i, a := range d.raw.Annotations.List {
		if a.BuiltIn == 1 || len(a.Target) == 0 || string(a.Target) == "null" {
			continue
		}
		var model map[string]any
		if err := json.Unmarshal(a.Target, &model); err != nil {
			c.add(fmt.Sprintf("annotations.list[%d].target", i), 0, "not a JSON object: %v", err)
			continue
		}
		lookup := func(name string) (variable, bool) { v, ok := vars[name]; return v, ok }
		model = expandValue(model, lookup).(map[string]any)
		ref := defaultRef
		if a.Datasource != nil {
			ref = *a.Datasource
		}
		q := PanelQuery{
			DashboardUID:   d.UID,
			Datasource:     targetRef(model, ref),
			Model:          model,
			Annotation:     true,
			AnnotationName: a.Name,
			ScopedVars:     scopedValues(nil, vars),
		}
		q.RefID, _ = model["refId"].(string)
		out = append(out, q)
	}
	return out, c.err()
}

func targetRef(model map[string]any, panel DatasourceRef) DatasourceRef {
	if m, ok := model["datasource"].(map[string]any); ok {
		t, _ := m["type"].(string)
		u, _ := m["uid"].(string)
		if u != "" {
			return DatasourceRef{Type: t, UID: u}
		}
	}
	return panel
}

func scopedValues(scope map[string]variable, vars map[string]variable) map[string][]string {
	out := map[string][]string{}
	for name, v := range vars {
		out[name] = v.selected
	}
	for name, v := range scope {
		out[name] = v.selected
	}
	return out
}

// readVariable reads a variable's options and current selection.
func readVariable(v rawVariable) (variable, error) {
	var query string
	if len(v.Query) > 0 {
		if err := json.Unmarshal(v.Query, &query); err != nil {
			return variable{}, fmt.Errorf("query of %s variable %q must be a string", v.Type, v.Name)
		}
	}
	var out variable
	switch v.Type {
	case "custom":
		out.options = customOptions(query)
	case "constant", "textbox":
		out.options = []string{query}
	default:
		return variable{}, fmt.Errorf("type %q: only %v variables can be expanded without Grafana", v.Type, expandableVariables)
	}
	var current []string
	var one string
	if err := json.Unmarshal(v.Current.Value, &one); err == nil {
		current = []string{one}
	} else if err := json.Unmarshal(v.Current.Value, &current); err != nil || len(v.Current.Value) == 0 {
		current = nil
	}
	if v.Type == "textbox" && len(current) == 1 {
		out.options = current
	}
	for _, s := range current {
		if s == "$__all" {
			if !v.IncludeAll {
				return variable{}, fmt.Errorf("variable %q has All selected but includeAll is false", v.Name)
			}
			out.selected, out.all, out.allValue = out.options, true, v.AllValue
			return out, nil
		}
		if !contains(out.options, s) && v.Type == "custom" {
			return variable{}, fmt.Errorf("variable %q: current value %q is not one of its options %v", v.Name, s, out.options)
		}
		out.selected = append(out.selected, s)
	}
	if len(out.selected) == 0 && len(out.options) > 0 {
		out.selected = out.options[:1] // Grafana selects the first option
	}
	if len(out.selected) > 1 && !v.Multi {
		return variable{}, fmt.Errorf("variable %q is not multi-value but has %d values selected", v.Name, len(out.selected))
	}
	return out, nil
}

// customOptions splits a custom variable's query: values separated by
// commas (a backslash escapes a comma), each "text : value" or a value.
func customOptions(query string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if _, val, ok := strings.Cut(s, " : "); ok {
			s = strings.TrimSpace(val)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	for i := 0; i < len(query); i++ {
		switch {
		case query[i] == '\\' && i+1 < len(query) && query[i+1] == ',':
			cur.WriteByte(',')
			i++
		case query[i] == ',':
			flush()
		default:
			cur.WriteByte(query[i])
		}
	}
	flush()
	return out
}

// values is what a variable stands for: its custom All value when All is
// selected and one is set, else the selected values.
func (v variable) values() []string {
	if v.all && v.allValue != "" {
		return []string{v.allValue}
	}
	return v.selected
}

// replaceVars replaces variable references in s; a multi-value variable
// becomes {a,b} (Grafana's default glob format) or, with a :csv format, a,b.
func replaceVars(s string, lookup func(string) (variable, bool)) string {
	return replaceWith(s, lookup, "glob")
}

// replaceWith replaces variable references, formatting multiple values with
// the reference's own format or else defaultFormat.
func replaceWith(s string, lookup func(string) (variable, bool), defaultFormat string) string {
	return varRefRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRefRe.FindStringSubmatch(m)
		name, format := sub[1]+sub[3]+sub[4], sub[2]
		if format == "" {
			format = defaultFormat
		}
		v, ok := lookup(name)
		if !ok {
			return m // built-in or unknown: left for Grafana or the data source
		}
		vals := v.values()
		switch {
		case len(vals) == 1:
			return vals[0]
		case format == "csv" || format == "raw":
			return strings.Join(vals, ",")
		case format == "pipe":
			return strings.Join(vals, "|")
		default:
			return "{" + strings.Join(vals, ",") + "}"
		}
	})
}

// expandValue replaces variables in every string of a query model. In a list
// of strings, an entry becomes one entry per value (Vigil's fields).
func expandValue(v any, lookup func(string) (variable, bool)) any {
	switch x := v.(type) {
	case string:
		return replaceVars(x, lookup)
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if ok && !varRefRe.MatchString(s) {
				out = append(out, s) // no variable: kept whole, commas and all
				continue
			}
			if !ok {
				out = append(out, expandValue(e, lookup))
				continue
			}
			// As Vigil's front end: replace with the csv format, then split.
			for _, part := range strings.Split(replaceWith(s, lookup, "csv"), ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// Keys are replaced too (Vigil's tag filters).
			out[replaceVars(k, lookup)] = expandValue(x[k], lookup)
		}
		return out
	}
	return v
}
