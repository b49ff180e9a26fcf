//go:build race

package jobqueue

// raceDetector reports whether the tests run with the race detector.
const raceDetector = true
