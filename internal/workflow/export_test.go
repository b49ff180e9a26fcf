package workflow

// Facets is facets, for the test that holds migration 00015 to it.
var Facets = facets

// RefPartition is refPartition, for the test that picks a key the router
// cannot place.
var RefPartition = refPartition

// PartList is partList, for the test of the router's notifications.
var PartList = partList
