package models

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"testing"

	vigil "github.com/vigil/vigil-anomaly-datasource"
)

// sharedCases is src/validation.cases.json, the table jest runs through the
// editor's checks (src/validation.test.ts).
type sharedCases struct {
	Window []struct {
		Input string `json:"input"`
		Ns    string `json:"ns"`
	} `json:"window"`
	History, Alpha, Output, Mode, Aggregate []choiceCase
	// Anomaly are anomaly query settings and the one field their error names ("" if valid).
	Anomaly []struct {
		Query map[string]any `json:"query"`
		Field string         `json:"field"`
	} `json:"anomaly"`
	LiveChannel []struct {
		QueryType QueryType       `json:"queryType"`
		Data      json.RawMessage `json:"data"`
		Path      string          `json:"path"`
	} `json:"liveChannel"`
}

type choiceCase struct {
	Input json.RawMessage `json:"input"`
	OK    bool            `json:"ok"`
}

func loadSharedCases(t *testing.T) sharedCases {
	t.Helper()
	raw, err := os.ReadFile("../../src/validation.cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases sharedCases
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestSharedValidationCases(t *testing.T) {
	cases := loadSharedCases(t)
	parse := func(queryType, field string, value json.RawMessage) (Query, error) {
		js, _ := json.Marshal(map[string]any{"measurement": "m", "fields": []string{"a"}, field: value})
		return ParseQuery(dataQuery(queryType, string(js)), testSettings)
	}
	// A refused value must be refused by name.
	check := func(field string, value json.RawMessage, ok bool, err error) {
		t.Helper()
		var qe *QueryError
		switch {
		case ok && err != nil:
			t.Errorf("%s %s: refused: %v", field, value, err)
		case !ok && err == nil:
			t.Errorf("%s %s: accepted", field, value)
		case !ok && (!errors.As(err, &qe) || qe.Field != field):
			t.Errorf("%s %s: error %v does not name the field", field, value, err)
		}
	}
	for _, c := range cases.Window {
		value, _ := json.Marshal(c.Input)
		q, err := parse("ttest", "window", value)
		check("window", value, c.Ns != "", err)
		if err == nil && strconv.FormatInt(int64(q.TTest.Window), 10) != c.Ns {
			t.Errorf("window %q: %d ns, want %s", c.Input, q.TTest.Window, c.Ns)
		}
	}
	for field, list := range map[string][]choiceCase{"history": cases.History, "alpha": cases.Alpha, "output": cases.Output, "mode": cases.Mode, "aggregate": cases.Aggregate} {
		if len(list) == 0 {
			t.Errorf("no %s cases", field)
		}
		queryType := "ttest"
		if field == "aggregate" {
			queryType = "power"
		}
		for _, c := range list {
			_, err := parse(queryType, field, c.Input)
			check(field, c.Input, c.OK, err)
		}
	}
}

// TestSharedAnomalyCases: each anomaly case, added to a query that is valid
// otherwise, is accepted or refused by the field the case names.
func TestSharedAnomalyCases(t *testing.T) {
	cases := loadSharedCases(t)
	if len(cases.Anomaly) < 20 {
		t.Fatalf("only %d anomaly cases", len(cases.Anomaly))
	}
	for _, c := range cases.Anomaly {
		query := map[string]any{"measurement": "m", "fields": []string{"a"}}
		for k, v := range c.Query {
			query[k] = v
		}
		js, _ := json.Marshal(query)
		_, err := ParseQuery(dataQuery("anomaly", string(js)), testSettings)
		var qe *QueryError
		switch {
		case c.Field == "" && err != nil:
			t.Errorf("%s: refused: %v", js, err)
		case c.Field != "" && (!errors.As(err, &qe) || qe.Field != c.Field):
			t.Errorf("%s: %v, want an error naming %s", js, err, c.Field)
		}
	}
}

func TestSharedLiveChannelCases(t *testing.T) {
	cases := loadSharedCases(t)
	paths := map[string]string{}
	identities := make([]map[string]any, len(cases.LiveChannel))
	for i, c := range cases.LiveChannel {
		got, err := LiveChannel(c.QueryType, c.Data)
		if err != nil || got != c.Path {
			t.Errorf("%s %s: channel %q, %v; want %q", c.QueryType, c.Data, got, err, c.Path)
		}
		paths[c.Path] = string(c.Data)
		identities[i] = liveIdentity(t, c.QueryType, c.Data)
	}
	if len(paths) < 8 {
		t.Errorf("only %d distinct channels in the cases", len(paths))
	}
	// Two cases share a path exactly when their identities are equal, as
	// decoded values (the separator cases differ only in where a = , quote,
	// NUL or backslash sits, or in the Unicode normalization of a name).
	for i, a := range cases.LiveChannel {
		for j, b := range cases.LiveChannel[:i] {
			same := reflect.DeepEqual(identities[i], identities[j])
			if (a.Path == b.Path) != same {
				t.Errorf("%s and %s: paths %q and %q, equal identities %v", a.Data, b.Data, a.Path, b.Path, same)
			}
		}
	}
	if _, err := LiveChannel(QueryTypeTTest, []byte(`[1]`)); err == nil {
		t.Error("an array was given a channel")
	}
}

// liveIdentity is what a channel must identify: the query type and the
// identity keys of the data, decoded.
func liveIdentity(t *testing.T, queryType QueryType, data json.RawMessage) map[string]any {
	t.Helper()
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	identity := map[string]any{"": string(queryType)}
	for _, k := range vigil.Rule.LiveChannel.Identity {
		if v, ok := all[k]; ok {
			identity[k] = v
		}
	}
	return identity
}

// Durations reach the ends of time.Duration (292 years); windows stop at
// validation.json's window.max, far below.
func TestParseDurationLimits(t *testing.T) {
	for text, want := range map[string]int64{"292y": 9214819200000000000, "9223372036854775807ns": math.MaxInt64, "30d": 2592000000000000} {
		if d, err := ParseDuration(text); err != nil || int64(d) != want {
			t.Errorf("%s: %d %v, want %d", text, d, err, want)
		}
	}
	for _, text := range []string{"293y", "9223372036854775808ns", "292y1y"} {
		if d, err := ParseDuration(text); err == nil || err.Error() != "is too long" {
			t.Errorf("%s: %d %v, want too long", text, d, err)
		}
	}
	if d, err := ParseDuration(vigil.Rule.Window.Max); err != nil || MaxWindow != d || MaxWindow <= 0 {
		t.Errorf("window.max %q: %v %v", vigil.Rule.Window.Max, d, err)
	}
}
