package models

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"
)

// sharedCases is src/validation.cases.json, the table jest runs through the
// editor's checks (src/validation.test.ts).
type sharedCases struct {
	Window []struct {
		Input string `json:"input"`
		Ns    string `json:"ns"`
	} `json:"window"`
	History, Alpha, Output, Mode, Aggregate []choiceCase
}

type choiceCase struct {
	Input json.RawMessage `json:"input"`
	OK    bool            `json:"ok"`
}

func TestSharedValidationCases(t *testing.T) {
	raw, err := os.ReadFile("../../src/validation.cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases sharedCases
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
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
