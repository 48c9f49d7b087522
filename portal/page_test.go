package portal

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestInlineHashes: the page's <style> and <script> are byte for byte
// what the Content-Security-Policy's hashes allow, so browsers run them,
// and nothing else inline is allowed.
func TestInlineHashes(t *testing.T) {
	p := &Portal{}
	if err := p.parseTemplates(); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "https://portal.example/portal/keys", nil)
	setPageHeaders(w.Header())
	p.render(w, r, http.StatusOK, "key_secret", view{Title: "t", Username: "u", Copy: true, Data: keySecretData{Secret: "s"}})
	body := w.Body.String()
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(style) != 1 || len(script) != 1 {
		t.Fatalf("got %d style and %d script elements, want 1 each", len(style), len(script))
	}
	policy := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"style-src " + hashSource(style[0][1]) + ";", "script-src " + hashSource(script[0][1]) + ";"} {
		if !strings.Contains(policy, want) {
			t.Errorf("policy %q lacks %q", policy, want)
		}
	}
	if strings.Contains(policy, "unsafe") || strings.Contains(body, " style=") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
		t.Errorf("inline style attribute, event handler or unsafe source")
	}
}
