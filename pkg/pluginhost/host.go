// Package pluginhost runs the built Vigil backend the way Grafana runs a
// backend plugin, for the end-to-end tests and the demo (no Grafana server
// can be had here): the executable is started by hashicorp/go-plugin with
// the SDK's handshake (protocol version 2, magic cookie), spoken to over gRPC
// only, with the SDK's pluginv2 clients, and given the requests Grafana
// builds: the plugin context with the data source's instance settings, panel
// and alert-rule queries, health checks, resource calls (also served over
// HTTP on Grafana's resource route) and Live streams.
package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/backend/useragent"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	vigil "github.com/vigil/vigil-anomaly-datasource"
	"github.com/vigil/vigil-anomaly-datasource/pkg/devenv"
)

// GrafanaVersion is the version the host reports to the plugin (GF_VERSION
// and the user agent), as a Grafana server does.
const GrafanaVersion = "12.4.0"

// Executable is the built backend for this machine under root/dist, named
// as Grafana looks it up: <executable>_<os>_<arch>.
func Executable(root string) string {
	return filepath.Join(root, "dist", fmt.Sprintf("%s_%s_%s", vigil.Plugin.Executable, runtime.GOOS, runtime.GOARCH))
}

// Options configure a host.
type Options struct {
	// Executable is the plugin binary (see Executable).
	Executable string
	// LogPath receives the plugin's log lines (hclog JSON, as Grafana reads
	// them from the plugin's stderr).
	LogPath string
	// Transcript, when set, receives every answer the plugin gives (query
	// responses with their frames, health results, resource responses,
	// Live frames, metrics) and every error, one JSON line each, so that a
	// test can scan all of it (for secrets, say).
	Transcript io.Writer
	// Env is added to the plugin's environment (GORACE for a binary built
	// with -race, say).
	Env []string
	// Stderr, when set, also receives the plugin's stderr verbatim: what is
	// not a log line (a race report, a panic) is found there whole.
	Stderr io.Writer
}

// Host is one running plugin process and the data sources Grafana would
// hold for it.
type Host struct {
	opts Options
	log  *os.File
	// version is the plugin's version from the plugin.json beside the
	// executable (dist/), as Grafana reads it.
	version string

	mu      sync.Mutex
	client  *goplugin.Client
	clients clients
	// generation counts plugin starts; Live streams restart on a new one.
	generation  int
	restarted   chan struct{}
	datasources map[string]backend.DataSourceInstanceSettings
	channels    map[string]*channel

	closers []func()

	transcriptMu sync.Mutex
}

// record appends one answer or error to the transcript.
func (h *Host) record(kind string, answer any, err error) {
	if h.opts.Transcript == nil {
		return
	}
	line := map[string]any{"kind": kind, "answer": answer}
	if err != nil {
		line["error"] = err.Error()
	}
	b, merr := json.Marshal(line)
	if merr != nil {
		b, _ = json.Marshal(map[string]any{"kind": kind, "unencodable": fmt.Sprint(answer), "error": merr.Error()})
	}
	h.transcriptMu.Lock()
	defer h.transcriptMu.Unlock()
	_, _ = h.opts.Transcript.Write(append(b, '\n'))
}

// clients are the SDK's pluginv2 gRPC clients of one plugin process.
type clients struct {
	data        pluginv2.DataClient
	diagnostics pluginv2.DiagnosticsClient
	resource    pluginv2.ResourceClient
	stream      pluginv2.StreamClient
}

// Start launches the plugin and connects to it.
func Start(ctx context.Context, o Options) (*Host, error) {
	if _, err := os.Stat(o.Executable); err != nil {
		return nil, fmt.Errorf("plugin executable: %w (run `go run mage.go build` first)", err)
	}
	// A dist/ binary older than its sources would test old code.
	if err := devenv.CheckFresh(o.Executable); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	version, err := manifestVersion(filepath.Join(filepath.Dir(o.Executable), "plugin.json"))
	if err != nil {
		logFile.Close()
		return nil, err
	}
	h := &Host{opts: o, log: logFile, version: version, restarted: make(chan struct{}), datasources: map[string]backend.DataSourceInstanceSettings{}}
	if err := h.launch(ctx); err != nil {
		logFile.Close()
		return nil, err
	}
	return h, nil
}

// launch starts a plugin process and dispenses its clients, as Grafana's
// plugin manager does: the handshake's magic cookie in the environment, a
// clean environment otherwise (Grafana passes only its GF_ variables), gRPC
// as the only protocol, the plugin set of protocol version 2.
func (h *Host) launch(ctx context.Context) error {
	cmd := exec.Command(h.opts.Executable)
	cmd.Env = []string{
		"GF_VERSION=" + GrafanaVersion,
		"GF_EDITION=oss",
		"GF_PLUGIN_VERSION=" + h.version,
		"HOME=" + os.Getenv("HOME"),
		"PATH=" + os.Getenv("PATH"),
	}
	cmd.Env = append(cmd.Env, h.opts.Env...)
	// Die with the host even if it is killed (a test binary on timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     time.Minute,
		Stderr:           h.opts.Stderr,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin.vigil", Output: h.log, Level: hclog.Debug, JSONFormat: true,
		}),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return fmt.Errorf("starting the plugin: %w", err)
	}
	var c clients
	for name, target := range map[string]any{"data": &c.data, "diagnostics": &c.diagnostics, "resource": &c.resource, "stream": &c.stream} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			client.Kill()
			return fmt.Errorf("the plugin serves no %s service: %w", name, err)
		}
		if err := assign(target, raw); err != nil {
			client.Kill()
			return fmt.Errorf("%s service: %w", name, err)
		}
	}
	if ctx.Err() != nil {
		client.Kill()
		return ctx.Err()
	}
	h.mu.Lock()
	h.client, h.clients = client, c
	h.generation++
	close(h.restarted)
	h.restarted = make(chan struct{})
	h.mu.Unlock()
	return nil
}

// assign stores a dispensed client in the typed variable target points to.
func assign(target, raw any) error {
	ok := false
	switch t := target.(type) {
	case *pluginv2.DataClient:
		*t, ok = raw.(pluginv2.DataClient)
	case *pluginv2.DiagnosticsClient:
		*t, ok = raw.(pluginv2.DiagnosticsClient)
	case *pluginv2.ResourceClient:
		*t, ok = raw.(pluginv2.ResourceClient)
	case *pluginv2.StreamClient:
		*t, ok = raw.(pluginv2.StreamClient)
	}
	if !ok {
		return fmt.Errorf("unexpected client type %T", raw)
	}
	return nil
}

// Stop stops the plugin and everything the host serves.
func (h *Host) Stop() {
	h.mu.Lock()
	closers := h.closers
	h.closers = nil
	client := h.client
	h.mu.Unlock()
	for _, c := range closers {
		c()
	}
	h.mu.Lock()
	for _, ch := range h.channels {
		ch.cancel()
	}
	h.mu.Unlock()
	if client != nil {
		client.Kill()
	}
	h.log.Close()
}

// Restart kills the plugin process and starts it again, as Grafana does when
// a plugin exits: instances are created anew from the settings, Live streams
// are run again.
func (h *Host) Restart(ctx context.Context) error {
	h.mu.Lock()
	client := h.client
	h.mu.Unlock()
	client.Kill()
	return h.launch(ctx)
}

// Kill ends the plugin process abruptly (SIGKILL), as a crash would, without
// starting it again.
func (h *Host) Kill() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rc := h.client.ReattachConfig()
	if rc == nil || rc.Pid == 0 {
		return errors.New("the plugin is not running")
	}
	return syscall.Kill(rc.Pid, syscall.SIGKILL)
}

// Exited reports whether the plugin process has exited.
func (h *Host) Exited() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.client.Exited()
}

// Pid is the plugin process id.
func (h *Host) Pid() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rc := h.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

func (h *Host) current() (clients, int, chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients, h.generation, h.restarted
}

// AddDatasource registers (or replaces) a data source instance as Grafana
// holds one; Updated is set when zero, so that the plugin's instance manager
// sees a change when settings are replaced.
func (h *Host) AddDatasource(s backend.DataSourceInstanceSettings) {
	if s.Updated.IsZero() {
		s.Updated = time.Now()
	}
	if s.Type == "" {
		s.Type = vigil.Plugin.ID
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.datasources[s.UID] = s
}

// pluginContext is the context Grafana sends with every call for a data
// source: org 1, the plugin id and version, the instance settings, the
// signed-in user and Grafana's user agent.
func (h *Host) pluginContext(dsUID string) (backend.PluginContext, error) {
	h.mu.Lock()
	s, ok := h.datasources[dsUID]
	h.mu.Unlock()
	if !ok {
		return backend.PluginContext{}, fmt.Errorf("data source %q not found", dsUID)
	}
	ua, err := useragent.New(GrafanaVersion, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return backend.PluginContext{}, err
	}
	return backend.PluginContext{
		//lint:ignore SA1019 Grafana still sends the org id with the namespace
		OrgID:                      1,
		PluginID:                   vigil.Plugin.ID,
		PluginVersion:              h.version,
		User:                       &backend.User{Login: "admin", Name: "admin", Role: "Admin"},
		DataSourceInstanceSettings: &s,
		UserAgent:                  ua,
	}, nil
}

// QueryData sends a query request for the data source (see PanelRequest and
// the alert evaluation), filling in its plugin context.
func (h *Host) QueryData(ctx context.Context, dsUID string, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return nil, err
	}
	req.PluginContext = pc
	c, _, _ := h.current()
	resp, err := c.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		h.record("QueryData", nil, err)
		return nil, err
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	h.record("QueryData", out, err)
	return out, err
}

// CheckHealth runs the data source's health check ("Save & test").
func (h *Host) CheckHealth(ctx context.Context, dsUID string) (*backend.CheckHealthResult, error) {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return nil, err
	}
	c, _, _ := h.current()
	resp, err := c.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	if err != nil {
		h.record("CheckHealth", nil, err)
		return nil, err
	}
	out := backend.FromProto().CheckHealthResponse(resp)
	h.record("CheckHealth", map[string]any{"status": out.Status.String(), "message": out.Message, "details": string(out.JSONDetails)}, nil)
	return out, nil
}

// Metrics collects the plugin's Prometheus metrics for the data source, as
// Grafana's /api/plugins/<id>/metrics does (text exposition format).
func (h *Host) Metrics(ctx context.Context, dsUID string) (string, error) {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return "", err
	}
	c, _, _ := h.current()
	resp, err := c.diagnostics.CollectMetrics(ctx, &pluginv2.CollectMetricsRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	var text string
	if err == nil && resp.Metrics != nil {
		text = string(resp.Metrics.Prometheus)
	}
	h.record("CollectMetrics", text, err)
	return text, err
}

// CallResource calls a resource of the data source as the signed-in admin
// (see CallResourceAs) and collects the streamed response into one (status
// and headers from the first message, the body from all of them).
func (h *Host) CallResource(ctx context.Context, dsUID string, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	return h.CallResourceAs(ctx, dsUID, nil, req)
}

func (h *Host) callResource(ctx context.Context, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	c, _, _ := h.current()
	stream, err := c.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return nil, err
	}
	var out *backend.CallResourceResponse
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		part := backend.FromProto().CallResourceResponse(msg)
		if out == nil {
			out = part
			continue
		}
		out.Body = append(out.Body, part.Body...)
	}
	if out == nil {
		return nil, errors.New("the plugin sent no resource response")
	}
	return out, nil
}

// onStop registers something to close when the host stops.
func (h *Host) onStop(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closers = append(h.closers, f)
}

// manifestVersion reads info.version from a built plugin.json.
func manifestVersion(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the built plugin.json: %w", err)
	}
	var m struct {
		Info struct{ Version string } `json:"info"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return m.Info.Version, nil
}
