package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics scrapes /metrics over HTTP after known traffic and checks
// the counts, and that no credential appears anywhere in the scrape.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "m", "--scope", "data:read", "--json")
	var c client
	e.jsonOK(&c, "client", "create", "--name", "svc", "--type", "server", "--scope", "data:read", "--json")
	s := e.startServer("--metrics-addr", "127.0.0.1:0")
	var metricsURL string
	select {
	case line := <-s.lines:
		u, ok := strings.CutPrefix(line, "metrics on ")
		if !ok || !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("second line = %q, want \"metrics on http://127.0.0.1:PORT\"", line)
		}
		metricsURL = u
	case <-time.After(10 * time.Second):
		t.Fatal("no metrics line")
	}

	for range 3 {
		if code, _, _ := s.do(t, "GET", "/v1/data", k.Key, nil); code != 200 {
			t.Fatalf("good key: %d", code)
		}
	}
	// Right shape and checksum, unknown ID (made in another data dir): an
	// unknown credential.
	var other createdKey
	newEnv(t).jsonOK(&other, "apikey", "create", "--name", "elsewhere", "--scope", "data:read", "--json")
	unknown := other.Key
	for range 2 {
		s.do(t, "GET", "/v1/data", unknown, nil)
	}
	s.do(t, "GET", "/v1/data", "", nil)
	tokenForm := "grant_type=client_credentials&client_id=" + c.ClientID + "&client_secret=" + *c.ClientSecret
	if code, body, _ := s.do(t, "POST", "/oauth/token", "", strings.NewReader(tokenForm)); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}

	resp, err := http.Get(metricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), k.Key) || strings.Contains(string(raw), unknown) || strings.Contains(string(raw), *c.ClientSecret) ||
		strings.Contains(string(raw), k.ID) {
		t.Fatal("the scrape contains a credential or key ID")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		f := families[name]
		if f == nil {
			return -1
		}
	metric:
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			return counterValue(m)
		}
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"audexum_authentications_total", map[string]string{"method": "api_key", "outcome": "ok"}, 3},
		{"audexum_authentications_total", map[string]string{"method": "none", "outcome": "unknown_credential"}, 2},
		{"audexum_authentications_total", map[string]string{"method": "none", "outcome": "no_credential"}, 1},
		{"audexum_tokens_issued_total", map[string]string{"grant_type": "client_credentials"}, 1},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if f := families["audexum_http_request_duration_seconds"]; f == nil || len(f.Metric) == 0 {
		t.Error("no request latency histogram")
	} else {
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				if lp.GetName() == "route" && strings.Contains(lp.GetValue(), "adx_") {
					t.Errorf("route label %q", lp.GetValue())
				}
			}
		}
	}
}

func counterValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}
