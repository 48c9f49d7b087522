package auth

// Len returns the number of keys m holds, for the tests of its bound.
func (m *MemoryLimiter) Len() int { return m.windows.Len() }
