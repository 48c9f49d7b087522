module github.com/audexum/auth/bench

go 1.26.0

replace github.com/audexum/auth => ../

require (
	github.com/MicahParks/keyfunc/v3 v3.9.1
	github.com/audexum/auth v0.0.0-00010101000000-000000000000
	github.com/auth0/go-jwt-middleware/v2 v2.3.1
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/golang-jwt/jwt/v5 v5.3.1
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	gopkg.in/go-jose/go-jose.v2 v2.6.3 // indirect
)
