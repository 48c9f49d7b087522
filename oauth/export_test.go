package oauth

// Hooks for the external tests.

// GateLen returns how many clients g remembers.
func GateLen(g *ClientGate) int { return g.known.Len() }

// RevocationCacheLen returns how many token IDs c remembers.
func RevocationCacheLen(c *RevocationCache) int { return c.answers.Len() }
