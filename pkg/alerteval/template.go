package alerteval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// templatePrefix binds $labels, $values and $value, as Grafana prepends to
// every label and annotation template.
const templatePrefix = "{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}"

// templateFuncs is the subset of Prometheus' template functions (which
// Grafana offers) that Vigil's rules may use.
var templateFuncs = template.FuncMap{
	"toUpper":  strings.ToUpper,
	"toLower":  strings.ToLower,
	"humanize": humanize,
}

// render expands one template as Grafana does: Go text/template with the
// data {Labels, Values, Value}, missingkey=invalid, "<no value>" shown as
// "[no value]"; a template that fails to parse or run keeps its original
// text.
func render(name, text string, labels map[string]string, values map[string]Value, evalString string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	t, err := template.New("__alert_" + name).Option("missingkey=invalid").Funcs(templateFuncs).Parse(templatePrefix + text)
	if err != nil {
		return text
	}
	var b strings.Builder
	err = t.Execute(&b, struct {
		Labels map[string]string
		Values map[string]Value
		Value  string
	}{labels, values, evalString})
	if err != nil {
		return text
	}
	return strings.ReplaceAll(b.String(), "<no value>", "[no value]")
}

// humanize formats a number with an SI prefix and 4 significant digits,
// as Prometheus' humanize.
func humanize(v any) (string, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case Value:
		f = x.Value
	case string:
		p, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return "", err
		}
		f = p
	default:
		return "", fmt.Errorf("humanize: unsupported %T", v)
	}
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprintf("%.4g", f), nil
	}
	if math.Abs(f) >= 1 {
		prefix := ""
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(f) < 1000 {
				break
			}
			prefix = p
			f /= 1000
		}
		return fmt.Sprintf("%.4g%s", f, prefix), nil
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(f) >= 1 {
			break
		}
		prefix = p
		f *= 1000
	}
	return fmt.Sprintf("%.4g%s", f, prefix), nil
}
