package influx

import (
	"context"
	"fmt"
	"sort"
)

// Schema lookups for the editors' pickers, through InfluxQL's SHOW
// statements (InfluxDB 1.x, or 2.x with a DBRP mapping). Every name reaches
// InfluxQL as an escaped identifier or literal.

// FieldKey is a field and its InfluxDB type (float, integer, string, boolean).
type FieldKey struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Measurements lists the bucket's measurements.
func (c *Client) Measurements(ctx context.Context, bucket string) ([]string, error) {
	db := Selection{Bucket: bucket}.Database()
	return c.showColumn(ctx, db, "SHOW MEASUREMENTS ON "+Ident(db), 0)
}

// FieldKeys lists a measurement's fields with their types.
func (c *Client) FieldKeys(ctx context.Context, bucket, measurement string) ([]FieldKey, error) {
	sel := Selection{Bucket: bucket, Measurement: measurement}
	out := []FieldKey{}
	err := c.InfluxQL(ctx, sel.Database(), "SHOW FIELD KEYS FROM "+sel.From(), func(s Series) error {
		for _, row := range s.Values {
			name, _ := row[0].(string)
			typ, _ := row[1].(string)
			out = append(out, FieldKey{Name: name, Type: typ})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// TagKeys lists a measurement's tag keys.
func (c *Client) TagKeys(ctx context.Context, bucket, measurement string) ([]string, error) {
	sel := Selection{Bucket: bucket, Measurement: measurement}
	return c.showColumn(ctx, sel.Database(), "SHOW TAG KEYS FROM "+sel.From(), 0)
}

// TagValues lists the values of one tag key of a measurement.
func (c *Client) TagValues(ctx context.Context, bucket, measurement, key string) ([]string, error) {
	sel := Selection{Bucket: bucket, Measurement: measurement}
	return c.showColumn(ctx, sel.Database(), fmt.Sprintf("SHOW TAG VALUES FROM %s WITH KEY = %s", sel.From(), Ident(key)), 1)
}

// showColumn runs a SHOW statement and returns one column's distinct values, sorted.
func (c *Client) showColumn(ctx context.Context, db, statement string, col int) ([]string, error) {
	seen := map[string]bool{}
	err := c.InfluxQL(ctx, db, statement, func(s Series) error {
		for _, row := range s.Values {
			if col < len(row) {
				if v, ok := row[col].(string); ok {
					seen[v] = true
				}
			}
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, err
}
