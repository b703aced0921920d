package influx

import (
	"strings"
	"testing"
	"time"
)

// FuzzReadOnlyInfluxQL: the raw-query check never panics; every query it
// accepts splits into statements that each start with SELECT, SHOW or
// EXPLAIN and have no INTO, each statement alone splits into itself, and
// Grafana's macros do not change the verdict. (Checked against InfluxDB
// 1.8.10's own parser too: see the README's Security section.)
func FuzzReadOnlyInfluxQL(f *testing.F) {
	for _, seed := range []string{
		`SELECT * FROM "a;DROP"`, `select 'x; drop database y'`, `SELECT * INTO "x" FROM y`,
		`SELECT * FROM m -- ; DROP DATABASE x`, `SELECT * FROM m /* ; */`, `SHOW DATABASES; DROP DATABASE x`,
		`SELECT * FROM db.rp./;DROP DATABASE x;/`, `SELECT a./ 1; DROP DATABASE x; SELECT 1 /b FROM m`,
		`SELECT "a" FROM m WHERE "b" =~ /x'y;/ AND c !~ /\/;'/ GROUP BY time($__interval)`,
		`SHOW MEASUREMENTS WITH MEASUREMENT = rp./;x/`, "SELECT 'a\\'b' FROM m;;\n", `EXPLAIN ANALYZE SELECT * FROM m`,
	} {
		f.Add(seed)
	}
	from := time.Unix(1e9, 0)
	f.Fuzz(func(t *testing.T, query string) {
		err := CheckReadOnlyInfluxQL(query)
		expanded := CheckReadOnlyInfluxQL(Macros(query, from, from.Add(time.Hour), time.Second))
		if (err == nil) != (expanded == nil) {
			t.Fatalf("%q: %v before the macros, %v after", query, err, expanded)
		}
		if err != nil {
			return
		}
		stmts, err := SplitInfluxQL(query)
		if err != nil || len(stmts) == 0 {
			t.Fatalf("%q accepted, split: %v %v", query, stmts, err)
		}
		for _, s := range stmts {
			word := strings.ToUpper(strings.SplitN(strings.TrimLeft(s.Text, "("), " ", 2)[0])
			ok := strings.HasPrefix(word, "SELECT") || strings.HasPrefix(word, "SHOW") || strings.HasPrefix(word, "EXPLAIN")
			if !ok || s.Into {
				t.Fatalf("%q accepted, statement %d %q (into %v)", query, s.Number, s.Text, s.Into)
			}
			alone, err := SplitInfluxQL(s.Text)
			if err != nil || len(alone) != 1 || alone[0].Text != s.Text || alone[0].Keyword != s.Keyword || alone[0].Into {
				t.Fatalf("%q: statement %q alone: %+v %v", query, s.Text, alone, err)
			}
		}
	})
}
