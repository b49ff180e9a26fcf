package rating

// FactNamesForTest returns the names of all facts.
func FactNamesForTest() []string { return factNames() }
