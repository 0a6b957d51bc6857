package leak

// Unusual_ is unusual, for tests.
var Unusual_ = unusual
