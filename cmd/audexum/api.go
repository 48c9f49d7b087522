package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/audexum/auth"
)

// maxAPIBody caps request bodies on the sample API.
const maxAPIBody = 1 << 20

// apiRoutes mounts the sample API of the seed documentation on mux. Every
// route is behind the Authenticator (applied by the caller) and checks its
// scope in the route definition. The profile is the account's the
// credential acts for (accounts says which): the user who consented, or
// the account that owns the API key or the client of a client-credentials
// token, so the seed's "Step 2" works with an owned client's token.
func apiRoutes(mux *http.ServeMux, users *userStore, accounts auth.AccountFunc) {
	mux.Handle("GET /v1/data", auth.RequireScopes("data:read")(http.HandlerFunc(getData)))
	mux.Handle("POST /v1/data", auth.RequireScopes("data:write")(http.HandlerFunc(postData)))
	mux.Handle("GET /v1/user/profile", auth.RequireScopes("profile:read")(auth.RequireAccount(accounts)(profileHandler(users))))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type callerJSON struct {
	Subject  string   `json:"sub"`
	ClientID string   `json:"client_id,omitempty"`
	Method   string   `json:"method"`
	Scopes   []string `json:"scopes"`
}

func caller(r *http.Request) callerJSON {
	p, _ := auth.FromContext(r.Context())
	return callerJSON{Subject: p.Subject, ClientID: p.ClientID, Method: p.Method.String(), Scopes: p.Scopes.Slice()}
}

func getData(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"data":   []map[string]any{{"id": 1, "value": "example"}},
		"caller": caller(r),
	})
}

func postData(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request_too_large"})
		return
	}
	if len(body) > 0 && !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_json"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"accepted": true, "bytes": len(body), "caller": caller(r)})
}

func profileHandler(users *userStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.AccountFromContext(r.Context())
		u, err := users.byID(r.Context(), id)
		if err != nil {
			// The account was there a moment ago (RequireAccount) and is
			// gone, or the database is down: no profile to show either
			// way.
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"sub": u.ID, "username": u.Username})
	})
}
