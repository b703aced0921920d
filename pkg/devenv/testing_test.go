package devenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// module writes a small module like Vigil's: the root package embeds
// plugin.json, ./pkg (the plugin's main) imports it and a package of its
// own; other is in the module but not a dependency of ./pkg. Every file is
// dated t0; the dist/ binary is dated t0 plus a minute.
func module(t *testing.T, t0 time.Time) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":            "module example.com/m\n\ngo 1.22\n",
		"go.sum":            "",
		"plugin.json":       "{}\n",
		"m.go":              "package m\n\nimport _ \"embed\"\n\n//go:embed plugin.json\nvar Manifest string\n",
		"pkg/main.go":       "package main\n\nimport (\n\t_ \"example.com/m\"\n\t_ \"example.com/m/pkg/lib\"\n)\n\nfunc main() {}\n",
		"pkg/lib/lib.go":    "package lib\n",
		"pkg/other/x.go":    "package other\n",
		"dist/gpx_m_binary": "built",
	}
	for name, text := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		touch(t, path, t0)
	}
	touch(t, filepath.Join(root, "dist/gpx_m_binary"), t0.Add(time.Minute))
	return root
}

func touch(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestPluginSources(t *testing.T) {
	root := module(t, time.Now().Add(-time.Hour))
	got, err := PluginSources(root)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		got[i], _ = filepath.Rel(root, p)
	}
	slices.Sort(got)
	want := []string{"go.mod", "go.sum", "m.go", "pkg/lib/lib.go", "pkg/main.go", "plugin.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("sources %v, want %v", got, want)
	}
}

// TestCheckFresh: a dist/ binary newer than every source passes; one older
// than a Go file, an embedded file or go.sum of the plugin's packages is
// refused with a message naming the file and the build command; a file
// outside the plugin's packages does not matter, and neither does a binary
// outside dist/.
func TestCheckFresh(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	for _, c := range []struct {
		touched string
		stale   bool
	}{
		{"", false},
		{"pkg/main.go", true},
		{"pkg/lib/lib.go", true},
		{"m.go", true},
		{"plugin.json", true},
		{"go.sum", true},
		{"go.mod", true},
		{"pkg/other/x.go", false},
	} {
		t.Run(c.touched, func(t *testing.T) {
			root := module(t, t0)
			binary := filepath.Join(root, "dist", "gpx_m_binary")
			if c.touched != "" {
				touch(t, filepath.Join(root, c.touched), t0.Add(2*time.Minute))
			}
			err := CheckFresh(binary)
			if !c.stale {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.touched) || !strings.Contains(err.Error(), "go run mage.go build") {
				t.Fatalf("touched %s: %v", c.touched, err)
			}
			// The same binary copied out of dist/ is not checked.
			elsewhere := filepath.Join(root, "bin", "gpx_m_binary")
			if err := os.MkdirAll(filepath.Dir(elsewhere), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(elsewhere, nil, 0o755); err != nil {
				t.Fatal(err)
			}
			touch(t, elsewhere, t0)
			if err := CheckFresh(elsewhere); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := CheckFresh(filepath.Join(module(t, t0), "dist", "missing")); err == nil || !strings.Contains(err.Error(), "go run mage.go build") {
		t.Fatalf("missing binary: %v", err)
	}
}
