package influx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Kind tells what went wrong talking to InfluxDB, so that handlers can pick
// the health message and the error source without parsing strings.
type Kind int

// The kinds of InfluxDB failure Vigil distinguishes.
const (
	KindUnreachable  Kind = iota + 1 // no connection: wrong host or port, InfluxDB down
	KindTimeout                      // connected, but no answer within the timeout
	KindUnauthorized                 // the token or user/password was refused
	KindNotFound                     // the bucket (database/retention policy) does not exist
	KindBadQuery                     // InfluxDB rejected the Flux script
	KindUnavailable                  // InfluxDB answered with a server error
)

// Error is an InfluxDB failure with a message written for the Grafana user.
// It never contains the token or password.
type Error struct {
	Kind    Kind
	Status  int // HTTP status from InfluxDB, 0 when there was no answer
	Message string
	Err     error
	// detail is InfluxDB's own words, kept to reword Message (nameCredentials).
	detail string
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// classify turns an error from the InfluxDB client into an *Error.
func classify(err error, url string) error {
	if err == nil {
		return nil
	}
	var known *Error
	if errors.As(err, &known) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var he *influxhttp.Error
	if errors.As(err, &he) && he.StatusCode != 0 {
		detail := strings.TrimSpace(he.Message)
		if detail == "" {
			detail = strings.TrimSpace(he.Code)
		}
		e := fromStatus(he.StatusCode, detail, url)
		e.Err = he
		return e
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return &Error{Kind: KindTimeout, Err: err, Message: fmt.Sprintf(
			"InfluxDB at %s did not answer within the timeout: raise \"Timeout\" in the data source settings, or narrow the query", url)}
	}
	return &Error{Kind: KindUnreachable, Err: err, Message: fmt.Sprintf(
		"cannot reach InfluxDB at %s (%s): check the URL and that InfluxDB is running and reachable from the Grafana server", url, reason(err))}
}

// fromStatus classifies an HTTP error answer from InfluxDB.
func fromStatus(status int, detail, url string) *Error {
	e := &Error{Status: status, Err: fmt.Errorf("HTTP %d: %s", status, detail), detail: detail}
	switch {
	case strings.Contains(strings.ToLower(detail), "flux query service disabled"):
		// InfluxDB 1.x answers 403 when Flux is off: not a token problem.
		e.Kind = KindBadQuery
		e.Message = fmt.Sprintf("Flux is disabled on this InfluxDB (HTTP %d: %s): only the flux query type needs it; set flux-enabled = true in the [http] section of influxdb.conf to use it", status, detail)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindUnauthorized
		e.Message = refusedMessage(credentialsToken, status, detail)
	case status == http.StatusNotFound || isMissingBucket(detail):
		e.Kind = KindNotFound
		e.Message = fmt.Sprintf("InfluxDB says the bucket does not exist (HTTP %d: %s)", status, detail)
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		e.Kind = KindUnavailable
		e.Message = fmt.Sprintf("InfluxDB at %s is unavailable (HTTP %d: %s)", url, status, detail)
	case status >= 500:
		// InfluxDB 1.8 answers Flux compile and runtime errors with a 500.
		e.Kind = KindBadQuery
		e.Message = fmt.Sprintf("InfluxDB could not run the query (HTTP %d: %s)", status, detail)
	default:
		e.Kind = KindBadQuery
		e.Message = fmt.Sprintf("InfluxDB rejected the query (HTTP %d: %s)", status, detail)
	}
	return e
}

// The credentials a refused-credentials message names.
const (
	credentialsToken        = "token"
	credentialsUserPassword = "user/password"
)

// refusedMessage says which credentials InfluxDB refused and where to fix them.
func refusedMessage(credentials string, status int, detail string) string {
	fix := "check the token in the data source settings (InfluxDB 1.8: user:password)"
	if credentials == credentialsUserPassword {
		fix = `check "user" and "password" in the data source settings (InfluxDB 2.x: a v1 authorization's; 3.x: any user, the database token as password)`
	}
	return fmt.Sprintf("InfluxDB refused the %s (HTTP %d: %s): %s", credentials, status, detail, fix)
}

// isMissingBucket recognises InfluxDB 1.8's and 2.x's words for a bucket that
// does not exist; 1.8 answers such queries with a plain 400 or 500.
func isMissingBucket(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "no database") || // 1.8: unknown database
		strings.Contains(m, "invalid retention policy") || // 1.8: unknown retention policy
		strings.Contains(m, "database not found") ||
		(strings.Contains(m, "bucket") && strings.Contains(m, "not found")) // 2.x
}

// reason is the innermost cause of a network error, without the URL that the
// outer layers repeat.
func reason(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Err
	}
	return err.Error()
}

// bucketError says which bucket is missing or unreadable.
func bucketError(err error, bucket string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case KindNotFound:
		return &Error{Kind: e.Kind, Status: e.Status, Err: e.Err, Message: fmt.Sprintf(
			"bucket %s does not exist in InfluxDB: check the default bucket (InfluxDB 1.8: database/retention-policy, e.g. printer/autogen) or create it", String(bucket))}
	case KindUnauthorized:
		return &Error{Kind: e.Kind, Status: e.Status, Err: e.Err, Message: e.Message + fmt.Sprintf(", and that it may read bucket %s", String(bucket))}
	}
	return err
}

// DBRPError explains a bucket that InfluxDB 2.x does not find through
// InfluxQL: 2.x answers InfluxQL only for a database/retention policy mapped
// to a bucket (a DBRP mapping), so the fix is a mapping. Other errors pass
// unchanged.
func DBRPError(err error, bucket string) error {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNotFound {
		return err
	}
	db, rp, _ := strings.Cut(bucket, "/")
	if rp == "" {
		rp = "autogen"
	}
	return &Error{Kind: e.Kind, Status: e.Status, Err: e.Err, detail: e.detail, Message: fmt.Sprintf(
		"InfluxDB 2.x has no DBRP mapping for bucket %s: 2.x answers InfluxQL (every query type but flux reads with it) only for buckets mapped to a database and retention policy. "+
			"Map the bucket that holds the data: influx v1 dbrp create --db %s --rp %s --bucket-id <bucket-id> --default",
		String(bucket), String(db), String(rp))}
}

// IsKind reports whether err is an InfluxDB error of the given kind.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
