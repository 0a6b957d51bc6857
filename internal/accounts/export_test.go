package accounts

// NewImportForTest is NewImport holding at most memory bytes of accounts in memory.
func NewImportForTest(s *Service, memory int) *Import {
	im := s.NewImport()
	im.memory = memory
	return im
}
