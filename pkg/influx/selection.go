package influx

// Selection is the data a Vigil query reads: one measurement's fields,
// optionally narrowed by tag equality. All names reach InfluxQL only as
// escaped identifiers and literals (Ident, Literal).
type Selection struct {
	Bucket      string
	Measurement string
	Fields      []string
	Tags        map[string]string
}
