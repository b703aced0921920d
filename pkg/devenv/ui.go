package devenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GrafanaUIBuilt reports whether Grafana's web UI is built in the home path
// (the build writes public/views/index.html from its template).
func GrafanaUIBuilt() bool {
	return exists(filepath.Join(GrafanaHome(), "public", "views", "index.html"))
}

// InstallGrafanaUI builds Grafana 10.0's front end in its home path (once),
// with the workarounds shared/docs/test-servers.md lists: xlsx from the
// registry, the yarn PnP loader patched for Node 20, and stand-ins from the
// npm registry for public/vendor (Go module zips drop every vendor folder).
// About 5 minutes and 5 GB of memory cold.
func InstallGrafanaUI(ctx context.Context, log io.Writer) error {
	if GrafanaUIBuilt() {
		return nil
	}
	home := GrafanaHome()
	fmt.Fprintf(log, "building Grafana 10.0's web UI in %s (about 5 minutes, once)\n", home)
	if err := patchFile(filepath.Join(home, "package.json"),
		`"xlsx": "https://cdn.sheetjs.com/xlsx-0.19.1/xlsx-0.19.1.tgz"`, `"xlsx": "0.18.5"`); err != nil {
		return err
	}
	yarn := func(env []string, args ...string) error {
		cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(".yarn", "releases", "yarn-3.4.1.cjs")}, args...)...)
		cmd.Dir = home
		cmd.Env = append(os.Environ(), append([]string{"HUSKY=0", "CYPRESS_INSTALL_BINARY=0", "YARN_ENABLE_IMMUTABLE_INSTALLS=false"}, env...)...)
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	if err := yarn(nil, "install"); err != nil {
		return fmt.Errorf("yarn install: %w", err)
	}
	// Node 20's loader hooks break yarn 3.4.1's nested calls unless the PnP
	// loader leaves CommonJS sources to Node.
	if err := patchFile(filepath.Join(home, ".pnp.loader.mjs"),
		"source: await fs.promises.readFile(filePath, `utf8`),",
		"source: format === `commonjs` ? undefined : await fs.promises.readFile(filePath, `utf8`),"); err != nil {
		return err
	}
	if err := vendorStandIns(ctx, filepath.Join(home, "public", "vendor"), log); err != nil {
		return err
	}
	if err := yarn([]string{"NODE_OPTIONS=--max-old-space-size=8192"}, "build"); err != nil {
		return fmt.Errorf("yarn build: %w", err)
	}
	if !GrafanaUIBuilt() {
		return fmt.Errorf("yarn build left no public/views/index.html")
	}
	return nil
}

// patchFile replaces old with new once; a file already patched is left alone.
func patchFile(path, old, new string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if bytes.Contains(raw, []byte(new)) {
		return nil
	}
	if !bytes.Contains(raw, []byte(old)) {
		return fmt.Errorf("%s: the text to patch is not there: %s", path, old)
	}
	return os.WriteFile(path, bytes.Replace(raw, []byte(old), []byte(new), 1), 0o644)
}

// vendorStandIns fills public/vendor from registry packages: Bootstrap 2's
// plugins (concatenated), bootstrap-tagsinput and flot 0.8.3, plus empty
// stand-ins for Grafana's own flot plugins (only the legacy graph panel uses them).
func vendorStandIns(ctx context.Context, dir string, log io.Writer) error {
	tmp, err := os.MkdirTemp("", "vigil-vendor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pkgs := map[string]string{"bootstrap-2.3.2@1.0.0": "bootstrap", "bootstrap-tagsinput@0.7.1": "tagsinput", "flot@0.8.3": "flot"}
	for spec, name := range pkgs {
		cmd := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("npm pack --silent %s | xargs -I{} tar xzf {} && mv package %s", spec, name))
		cmd.Dir = tmp
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm pack %s: %w", spec, err)
		}
	}
	var bootstrap bytes.Buffer
	for _, p := range strings.Fields("transition alert button carousel collapse dropdown modal tooltip popover scrollspy tab typeahead affix") {
		raw, err := os.ReadFile(filepath.Join(tmp, "bootstrap", "js", "bootstrap-"+p+".js"))
		if err != nil {
			return err
		}
		bootstrap.Write(append(raw, '\n'))
	}
	files := map[string][]byte{filepath.Join("bootstrap", "bootstrap.js"): bootstrap.Bytes()}
	raw, err := os.ReadFile(filepath.Join(tmp, "tagsinput", "dist", "bootstrap-tagsinput.js"))
	if err != nil {
		return err
	}
	files[filepath.Join("tagsinput", "bootstrap-tagsinput.js")] = raw
	for _, f := range []string{"jquery.flot", "jquery.flot.selection", "jquery.flot.time", "jquery.flot.stack", "jquery.flot.crosshair"} {
		raw, err := os.ReadFile(filepath.Join(tmp, "flot", f+".js"))
		if err != nil {
			return err
		}
		files[filepath.Join("flot", f+".js")] = raw
	}
	for _, f := range []string{"dashes", "fillbelow", "gauge", "stackpercent"} {
		files[filepath.Join("flot", "jquery.flot."+f+".js")] = []byte("// Stand-in: Grafana's own flot plugin; only the legacy graph panel uses it.\n")
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
