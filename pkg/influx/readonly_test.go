package influx

import (
	"strings"
	"testing"
	"time"
)

func TestCheckReadOnlyInfluxQLAccepts(t *testing.T) {
	for query, statements := range map[string]int{
		`SELECT * FROM "a;DROP"`:                                                            1,
		`select 'x; drop database y'`:                                                       1,
		`SELECT "a\";DROP" FROM m`:                                                          1,
		`SELECT * FROM m -- ; DROP DATABASE x`:                                              1,
		`SELECT * FROM m /* ; DROP DATABASE x */`:                                           1,
		"SELECT * FROM m -- ; DROP\r\n":                                                     1,
		`SHOW DATABASES`:                                                                    1,
		`show measurements with measurement =~ /a;drop/`:                                    1,
		`SHOW MEASUREMENTS WITH MEASUREMENT = rp./;DROP x;/`:                                1,
		`SELECT * FROM /a;DROP DATABASE x/`:                                                 1,
		`SELECT * FROM db.rp./;DROP DATABASE x;/, "b"`:                                      1,
		`SELECT * FROM db../'/ WHERE a = 'b'`:                                               1,
		`SELECT /;DROP/ FROM m`:                                                             1,
		`SELECT count(/;DROP/) FROM m GROUP BY /';'/`:                                       1,
		`SELECT "a" FROM m WHERE "b" =~ /x'y;/ AND c !~ /\/;'/`:                             1,
		`SELECT a / b FROM m; SELECT c FROM n`:                                              2,
		`SELECT a::field / 2 FROM m`:                                                        1,
		`SELECT * FROM (SELECT a FROM m)`:                                                   1,
		";;SELECT 1 FROM m;; ;":                                                             1,
		"SELECT\n*\nFROM\tm\n":                                                              1,
		`SHOW TAG VALUES WITH KEY = "host"; SHOW FIELD KEYS`:                                2,
		`EXPLAIN SELECT * FROM m`:                                                           1,
		`explain analyze select * from m`:                                                   1,
		`EXPLAIN ANALYZE VERBOSE SELECT * FROM m`:                                           1,
		`SELECT mean("v") FROM "m" WHERE $timeFilter GROUP BY time($__interval) fill(null)`: 1,
		`SELECT 'it\'s' FROM "te\\st"`:                                                      1,
		`SELECT nonsense( FROM x`:                                                           1, // InfluxDB refuses it: not ours to judge
		`SELECT "into" FROM m WHERE a = 'into'`:                                             1,
	} {
		if err := CheckReadOnlyInfluxQL(query); err != nil {
			t.Errorf("%q: %v", query, err)
			continue
		}
		stmts, _ := SplitInfluxQL(query)
		if len(stmts) != statements {
			t.Errorf("%q: %d statements, want %d: %+v", query, len(stmts), statements, stmts)
		}
	}
}

func TestCheckReadOnlyInfluxQLRefuses(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{`DROP DATABASE "x"`, "statement 1 (line 1, char 1: `DROP DATABASE \"x\"`) is a DROP, not a read"},
		{`CREATE DATABASE x`, "is a CREATE"},
		{`DROP MEASUREMENT "temperatures"`, "is a DROP"},
		{`CREATE USER eve WITH PASSWORD 'p' WITH ALL PRIVILEGES`, "is a CREATE"},
		{`DELETE FROM m`, "is a DELETE"},
		{`GRANT ALL PRIVILEGES TO eve`, "is a GRANT"},
		{`KILL QUERY 1`, "is a KILL"},
		{`ALTER RETENTION POLICY autogen ON x DURATION 1h`, "is an ALTER"},
		{`SET PASSWORD FOR eve = 'x'`, "is a SET"},
		{`SELECT * INTO "x" FROM y`, "statement 1 (line 1, char 1: `SELECT * INTO \"x\" FROM y`) writes with INTO"},
		{`select * into x from y`, "writes with INTO"},
		{`SELECT * INTO"x" FROM y`, "writes with INTO"},
		{`SELECT * FROM (SELECT * INTO x FROM y)`, "writes with INTO"},
		{`EXPLAIN ANALYZE SELECT * INTO x FROM y`, "writes with INTO"},
		{`SHOW DATABASES; DROP DATABASE x`, "statement 2 (line 1, char 17: `DROP DATABASE x`) is a DROP"},
		{"SHOW DATABASES;\n  drop database x", "statement 2 (line 2, char 3: `drop database x`) is a DROP"},
		{"-- comment\nDROP DATABASE x", "statement 1 (line 2, char 1"},
		{`/* c */ DROP DATABASE x`, "is a DROP"},
		{`SELECT * FROM m; /* ; */ DROP DATABASE y`, "statement 2"},
		{`SELECT * FROM "a;" ; DROP DATABASE y`, "statement 2"},
		{`SELECT 'a;' FROM m; DROP DATABASE y`, "statement 2"},
		{`EXPLAIN DROP DATABASE x`, "is an EXPLAIN DROP DATABASE"},
		{`"SELECT" * FROM m`, "does not start with a keyword"},
		{`(SELECT * FROM m)`, "does not start with a keyword"},
		// A '/' where InfluxDB divides is no regex: what follows is read.
		{`SELECT a./ 1; DROP DATABASE x; SELECT 1 /b FROM m`, "statement 2"},
		{`SELECT * / 2; DROP DATABASE x; SELECT 1 / 2 FROM m`, "statement 2"},
		{`SELECT a::field / 2 FROM m; DROP DATABASE x; SELECT 1 / 2 FROM m`, "statement 2"},
		{`SELECT mean(x) FROM m fill(a./ 1; DROP DATABASE y; SELECT 1 /b)`, "statement 2"},
		{`SELECT x FROM m WHERE a = 1 -- /; DROP DATABASE y`, ""},
		{`SELECT x FROM m -- x` + "\n" + `/ 2; DROP DATABASE y`, "statement 2"},
		// Text InfluxDB cannot read either.
		{`SELECT 'unterminated`, "statement 1: an unterminated quoted string at line 1, char 8"},
		{`SELECT "unterminated`, "an unterminated quoted identifier"},
		{`SELECT * FROM m /* unterminated`, "an unterminated /* comment"},
		{`SELECT * FROM /unterminated`, "an unterminated regex"},
		{"SELECT * FROM /a\n/", "a line break in a regex"},
		{`SELECT 'a\qb' FROM m`, "a bad escape in a quoted string"},
		{"SHOW DATABASES; SELECT 'a\nb' FROM m", "statement 2: a line break in a quoted string at line 1, char 24"},
		{"SELECT * FROM m\x00; DROP DATABASE x", "a NUL character"},
		{``, "has no statement"},
		{" ;; -- nothing\n", "has no statement"},
	} {
		err := CheckReadOnlyInfluxQL(c.query)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.query, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.query, err, c.want)
		}
	}
}

func TestSplitInfluxQLStatements(t *testing.T) {
	stmts, err := SplitInfluxQL("  -- lead\nSELECT a FROM m -- tail\n;\n\n show  databases ;")
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{
		{Number: 1, Line: 2, Char: 1, Text: "SELECT a FROM m", Keyword: "SELECT"},
		{Number: 2, Line: 5, Char: 2, Text: "show  databases", Keyword: "SHOW"},
	}
	if len(stmts) != len(want) {
		t.Fatalf("%+v", stmts)
	}
	for i := range want {
		if stmts[i] != want[i] {
			t.Errorf("statement %d: %+v, want %+v", i+1, stmts[i], want[i])
		}
	}
}

// TestReadOnlyMacros: Grafana's macros expand to words, numbers and
// durations only, so checking the query before expansion checks what is sent.
func TestReadOnlyMacros(t *testing.T) {
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, q := range []string{
		`SELECT mean(v) FROM m WHERE $timeFilter GROUP BY time($__interval)`,
		`SELECT v / $__interval_ms FROM m WHERE $timeFilter; DROP DATABASE x`,
		`SELECT v FROM m WHERE $timeFilter/2; DROP DATABASE x`,
	} {
		before := CheckReadOnlyInfluxQL(q)
		after := CheckReadOnlyInfluxQL(Macros(q, from, from.Add(time.Hour), 10*time.Second))
		if (before == nil) != (after == nil) {
			t.Errorf("%q: %v before the macros, %v after", q, before, after)
		}
	}
}

func TestExcerpt(t *testing.T) {
	if got := excerpt("SELECT\n  a,\tb FROM m"); got != "`SELECT a, b FROM m`" {
		t.Error(got)
	}
	if got := excerpt(strings.Repeat("é", 50)); got != "`"+strings.Repeat("é", 39)+"…`" {
		t.Error(got)
	}
}
