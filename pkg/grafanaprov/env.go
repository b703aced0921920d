package grafanaprov

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// expanderRe matches Grafana's configuration expanders, $__name{argument}.
var expanderRe = regexp.MustCompile(`\$__(\w+)\{([^}]*)\}`)

// Expand replaces environment variables in one provisioning value as Grafana
// does: "$$" is a literal "$"; between those, $__env{NAME} and $__file{path}
// are expanded first, then $NAME and ${NAME} (shell-like, unset is empty).
// Other expanders ($__vault{...}) need Grafana Enterprise: they are errors.
func Expand(s string, env func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	parts := strings.Split(s, "$$")
	for i, part := range parts {
		var err error
		part = expanderRe.ReplaceAllStringFunc(part, func(m string) string {
			sub := expanderRe.FindStringSubmatch(m)
			switch sub[1] {
			case "env":
				return env(sub[2])
			case "file":
				b, ferr := os.ReadFile(strings.TrimSpace(sub[2]))
				if ferr != nil && err == nil {
					// Name the file only: its content may be a secret.
					err = fmt.Errorf("$__file{%s}: cannot read the file", sub[2])
				}
				// Grafana trims whitespace around a file's content.
				return strings.TrimSpace(string(b))
			default:
				if err == nil {
					err = fmt.Errorf("$__%s{...}: expander not available outside Grafana Enterprise", sub[1])
				}
				return m
			}
		})
		if err != nil {
			return "", err
		}
		parts[i] = os.Expand(part, env)
	}
	return strings.Join(parts, "$"), nil
}

// EnvFrom returns an env lookup over a fixed map (tests, the demo), falling
// back to nothing: a variable missing from m expands to "".
func EnvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
