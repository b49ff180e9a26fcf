package workflow

// Facets is facets, for the test that holds migration 00015 to it.
var Facets = facets
