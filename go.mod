module github.com/audexum/auth

go 1.26.0

require (
	github.com/MicahParks/jwkset v0.11.4
	github.com/MicahParks/keyfunc/v3 v3.9.1
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/google/go-cmp v0.7.0
	golang.org/x/oauth2 v0.38.0
	golang.org/x/time v0.15.0
)

require github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
