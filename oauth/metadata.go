package oauth

import (
	"encoding/json"
	"net/http"
)

// metadata is the RFC 8414 §2 authorization server metadata.
type metadata struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	JWKSURI                                string   `json:"jwks_uri,omitempty"`
	ScopesSupported                        []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                 []string `json:"response_types_supported"`
	ResponseModesSupported                 []string `json:"response_modes_supported"`
	GrantTypesSupported                    []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported      []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethods          []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                  string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethods       []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParamSupported bool     `json:"authorization_response_iss_parameter_supported"`
	DPoPSigningAlgValuesSupported          []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// buildMetadata builds the metadata document once.
func (s *Server) buildMetadata() []byte {
	m := metadata{
		Issuer:                                 s.issuer,
		AuthorizationEndpoint:                  s.endpoint(AuthorizePath),
		TokenEndpoint:                          s.endpoint(TokenPath),
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken},
		TokenEndpointAuthMethodsSupported:      []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpoint:                     s.endpoint(RevocationPath),
		RevocationEndpointAuthMethods:          []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpoint:                  s.endpoint(IntrospectionPath),
		IntrospectionEndpointAuthMethods:       []string{"client_secret_basic", "client_secret_post"},
		CodeChallengeMethodsSupported:          []string{methodS256},
		AuthorizationResponseIssParamSupported: true,
	}
	if s.jwks != nil {
		m.JWKSURI = s.endpoint(JWKSPath)
	}
	if s.scopes.Len() > 0 {
		m.ScopesSupported = s.scopes.Slice()
	}
	if s.dpop != nil {
		// RFC 9449 §5.1.
		m.DPoPSigningAlgValuesSupported = s.dpop.Algorithms()
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// MetadataHandler returns the authorization server metadata (RFC 8414 §3),
// served at /.well-known/oauth-authorization-server and, for tools that
// look there, /.well-known/openid-configuration. GET and HEAD only.
func (s *Server) MetadataHandler() http.Handler {
	return onlyGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = []string{"public, max-age=3600"}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		writeJSON(w, http.StatusOK, s.metadata)
	}))
}
