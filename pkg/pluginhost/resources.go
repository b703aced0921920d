package pluginhost

import (
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

// ServeResources serves Grafana's resource route for the registered data
// sources over HTTP on a free loopback port:
//
//	<baseURL>/api/datasources/uid/<uid>/resources/<path>?<query> -> CallResource
//
// Like Grafana, it answers 401 without the bearer token (a service-account
// token there), keeps the credentials from the plugin, and passes method,
// path, query, the other headers and the body. It stops with the host.
func (h *Host) ServeResources(token string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/datasources/uid/{uid}/resources/{path...}", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(auth), []byte("Bearer "+token)) != 1 {
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
		resp, err := h.CallResource(r.Context(), r.PathValue("uid"), &backend.CallResourceRequest{
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
