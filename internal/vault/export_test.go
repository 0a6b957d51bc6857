package vault

// CachedKeys returns how many opened data keys s holds, for tests.
func CachedKeys(s *Service) int { return s.ciphers.len() }
