package influx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// authServer answers /query like InfluxDB 1.8 with auth on: 401 unless the
// request carries want; it records the Authorization header it got.
func authServer(t *testing.T, want string, got *string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = r.Header.Get("Authorization")
		if *got != want {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"authorization failed"}`))
			return
		}
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"columns":["name"],"values":[["autogen"]]}]}]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestInfluxQLAuthorization(t *testing.T) {
	const secret = "s3cret-pw"
	tests := []struct {
		name   string
		cfg    Config
		header string // the Authorization header InfluxQL sends
		flux   string // the token the Flux client sends
	}{
		{"none", Config{}, "", ""},
		{"token", Config{Token: "vigil:" + secret}, "Token vigil:" + secret, "vigil:" + secret},
		{"user/password", Config{User: "vigil", Password: secret}, "Basic dmlnaWw6czNjcmV0LXB3", "vigil:" + secret},
		{"user with empty password", Config{User: "vigil"}, "Basic dmlnaWw6", "vigil:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			cfg := tt.cfg
			cfg.URL = authServer(t, tt.header, &got).URL
			c := NewClient(cfg)
			defer c.Close()
			if err := c.CheckBucket(context.Background(), "printer/autogen"); err != nil {
				t.Fatalf("sent %q: %v", got, err)
			}
			if got != tt.header {
				t.Fatalf("sent Authorization %q, want %q", got, tt.header)
			}
			if tok := fluxToken(tt.cfg); tok != tt.flux {
				t.Fatalf("Flux token %q, want %q", tok, tt.flux)
			}
		})
	}
}

func TestRefusedCredentialsAreNamed(t *testing.T) {
	const secret = "wrong-pw-4711"
	tests := []struct {
		name    string
		cfg     Config
		message string
	}{
		{"token", Config{Token: "vigil:" + secret},
			`InfluxDB refused the token (HTTP 401: authorization failed): check the token in the data source settings (InfluxDB 1.8: user:password), and that it may read bucket "printer/autogen"`},
		{"user/password", Config{User: "vigil", Password: secret},
			`InfluxDB refused the user/password (HTTP 401: authorization failed): check "user" and "password" in the data source settings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			cfg := tt.cfg
			cfg.URL = authServer(t, "Basic something-else", &got).URL
			c := NewClient(cfg)
			defer c.Close()
			err := c.CheckBucket(context.Background(), "printer/autogen")
			if !IsKind(err, KindUnauthorized) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("got %v, want an unauthorized error containing %q", err, tt.message)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the message leaks the secret: %q", err)
			}
			// A query's error is named the same way.
			qerr := (c.InfluxQL(context.Background(), "printer", "SELECT 1", func(Series) error { return nil }))
			if !strings.Contains(qerr.Error(), "refused the "+tt.name) {
				t.Fatalf("query error %q does not name the %s", qerr, tt.name)
			}
		})
	}
}

func TestCredentialsNamedOnlyWhenRefused(t *testing.T) {
	c := NewClient(Config{URL: "http://127.0.0.1:9", User: "vigil", Password: "pw"})
	defer c.Close()
	missing := classify(fromStatus(http.StatusNotFound, "database not found: x", "u"), "u")
	if got := c.nameCredentials(missing); got != missing {
		t.Fatalf("got %v", got)
	}
	if got := (*Client)(nil).nameCredentials(missing); got != missing {
		t.Fatalf("nil client: got %v", got)
	}
}

func TestDBRPError(t *testing.T) {
	tests := []struct{ bucket, hint string }{
		{"printer/autogen", `influx v1 dbrp create --db "printer" --rp "autogen" --bucket-id <bucket-id> --default`},
		{"printer", `--db "printer" --rp "autogen"`},
		{`pr"int $x/r p`, `--db "pr\"int \$x" --rp "r p"`},
	}
	for _, tt := range tests {
		err := DBRPError(fromStatus(http.StatusBadRequest, "database not found: printer", "u"), tt.bucket)
		if !IsKind(err, KindNotFound) || !strings.Contains(err.Error(), "no DBRP mapping for bucket "+String(tt.bucket)) ||
			!strings.Contains(err.Error(), tt.hint) {
			t.Errorf("%s: got %q, want the DBRP hint %q", tt.bucket, err, tt.hint)
		}
	}
	refused := fromStatus(http.StatusUnauthorized, "unauthorized access", "u")
	if got := DBRPError(refused, "printer/autogen"); got != error(refused) {
		t.Errorf("a refused token got the DBRP hint: %v", got)
	}
}
