package pluginhost

import (
	"context"
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// maxResourceBody bounds a request body, as Grafana's server does.
const maxResourceBody = 10 << 20

// ServiceAccount is the user Grafana puts in the plugin context for a
// request authenticated with a service account's token: the account with
// its org role (Viewer, Editor, Admin or None).
func ServiceAccount(name, role string) backend.User {
	return backend.User{Login: "sa-1-" + name, Name: name, Role: role}
}

// ReceiverAccount is the service account whose token the provisioned
// alert-history contact point sends: role Editor, the least role the
// receiver lets write.
var ReceiverAccount = ServiceAccount("vigil-alert-history", "Editor")

// Caller is a bearer token and the user it authenticates.
type Caller struct {
	Token string
	User  backend.User
}

// ServeResources serves Grafana's resource route for the registered data
// sources over HTTP on a free loopback port:
//
//	<baseURL>/api/datasources/uid/<uid>/resources/<path>?<query> -> CallResource
//
// Like Grafana, it answers 401 without a known bearer token, puts the
// token's user in the plugin context (token: ReceiverAccount's; others:
// their own), keeps the credentials from the plugin, and passes method,
// path, query, the other headers and the body. It stops with the host.
func (h *Host) ServeResources(token string, others ...Caller) (string, error) {
	callers := append([]Caller{{Token: token, User: ReceiverAccount}}, others...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/datasources/uid/{uid}/resources/{path...}", func(w http.ResponseWriter, r *http.Request) {
		user, ok := authenticate(callers, r.Header.Get("Authorization"))
		if !ok {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxResourceBody))
		if err != nil {
			http.Error(w, `{"message":"request body too large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		headers := map[string][]string{}
		for k, v := range r.Header {
			if k != "Authorization" && k != "Cookie" {
				headers[k] = v
			}
		}
		path := r.PathValue("path")
		url := path
		if r.URL.RawQuery != "" {
			url += "?" + r.URL.RawQuery
		}
		resp, err := h.CallResourceAs(r.Context(), r.PathValue("uid"), &user, &backend.CallResourceRequest{
			Path: path, Method: r.Method, URL: url, Headers: headers, Body: body,
		})
		if err != nil {
			status := http.StatusInternalServerError
			if strings.Contains(err.Error(), "not found") {
				status = http.StatusNotFound
			}
			http.Error(w, `{"message":"Failed to call resource"}`, status)
			return
		}
		for k, vs := range resp.Headers {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	h.onStop(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), nil
}

// authenticate finds the caller whose bearer token the Authorization header
// holds, comparing every token in constant time.
func authenticate(callers []Caller, auth string) (backend.User, bool) {
	var found *Caller
	for i := range callers {
		if callers[i].Token != "" && subtle.ConstantTimeCompare([]byte(auth), []byte("Bearer "+callers[i].Token)) == 1 {
			found = &callers[i]
		}
	}
	if found == nil {
		return backend.User{}, false
	}
	return found.User, true
}

// CallResourceAs is CallResource by user, whom Grafana puts in the plugin
// context of a resource call: the signed-in user, or for a service
// account's token the service account with its role (see ServiceAccount).
// A nil user is pluginContext's signed-in admin.
func (h *Host) CallResourceAs(ctx context.Context, dsUID string, user *backend.User, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return nil, err
	}
	if user != nil {
		pc.User = user
	}
	req.PluginContext = pc
	if req.URL == "" {
		req.URL = req.Path
	}
	out, err := h.callResource(ctx, req)
	if err != nil {
		h.record("CallResource", nil, err)
		return nil, err
	}
	h.record("CallResource", map[string]any{"status": out.Status, "headers": out.Headers, "body": string(out.Body)}, nil)
	return out, nil
}
