package oauth

// Hooks for the external tests.

// GateLen returns how many clients g remembers.
func GateLen(g *ClientGate) int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.entries)
}

// RevocationCacheLen returns how many token IDs c remembers.
func RevocationCacheLen(c *RevocationCache) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
