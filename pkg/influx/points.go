package influx

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The t-test reads through InfluxQL only (InfluxDB 1.x as installed has Flux
// off; 3.x has no Flux): the statements below use plain SELECT with GROUP BY
// tags, which every InfluxQL that Vigil targets supports.

// fieldList is the selection's fields as InfluxQL field references (::field,
// so that a tag of the same name is never read instead), each in every
// aggregate of aggs (named "<agg>_<i>"), or as it is without aggs.
func (s Selection) fieldList(aggs ...string) string {
	var cols []string
	for i, f := range s.Fields {
		ref := Ident(f) + "::field"
		if len(aggs) == 0 {
			cols = append(cols, ref)
		}
		for _, agg := range aggs {
			cols = append(cols, fmt.Sprintf(`%s(%s) AS "%s_%d"`, agg, ref, agg, i))
		}
	}
	return strings.Join(cols, ", ")
}

// PointsStatement is the InfluxQL that Points runs: every value of the
// selection's fields in [start, stop), one series per tag set, each in time
// order; column i+1 holds field i.
func PointsStatement(s Selection, start, stop time.Time) (db, statement string) {
	return s.Database(), fmt.Sprintf("SELECT %s FROM %s WHERE %s GROUP BY *", s.fieldList(), s.From(), s.Where(start, stop))
}

// SeriesCountStatement counts and sums each field's values per tag set in
// [start, stop); columns 2i+1 and 2i+2 hold field i's count and sum.
func SeriesCountStatement(s Selection, start, stop time.Time) (db, statement string) {
	return s.Database(), fmt.Sprintf("SELECT %s FROM %s WHERE %s GROUP BY *", s.fieldList("count", "sum"), s.From(), s.Where(start, stop))
}

// CheckBucket confirms that bucket (database/retention-policy) exists and the
// credentials may read it: InfluxQL's list of the database's retention
// policies, which needs read access, must hold the bucket's (any one for a
// bucket without "/rp"). InfluxDB 2.x lists none, without an error, for a
// database with no DBRP mapping.
func (c *Client) CheckBucket(ctx context.Context, bucket string) error {
	db, rp, _ := strings.Cut(bucket, "/")
	found := false
	err := c.InfluxQL(ctx, db, "SHOW RETENTION POLICIES ON "+Ident(db), func(s Series) error {
		for _, row := range s.Values {
			if name, _ := row[0].(string); rp == "" || name == rp {
				found = true
			}
		}
		return nil
	})
	if err != nil {
		return bucketError(err, bucket)
	}
	if !found {
		return bucketError(&Error{Kind: KindNotFound, Message: "retention policy not found"}, bucket)
	}
	return nil
}
