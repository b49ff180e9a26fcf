package console

import (
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"":                               "/console/",
		"/console/reviews?state=open":    "/console/reviews?state=open",
		"/console/shipments/odoo:WH%2F1": "/console/shipments/odoo:WH%2F1",
		"https://evil.example/console/":  "/console/",
		"//evil.example/console/":        "/console/",
		"/console/\\evil":                "/console/",
		"/consolex/":                     "/console/",
		"/console/\r\nSet-Cookie: x=1":   "/console/",
		"/v1/keys":                       "/console/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestAgeText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:                  "0 s",
		45 * time.Second:              "45 s",
		12*time.Minute + time.Second:  "12 min",
		3*time.Hour + 5*time.Minute:   "3 h 5 min",
		50*time.Hour + 10*time.Minute: "2 d 2 h",
	} {
		if got := ageText(d); got != want {
			t.Errorf("ageText(%v) = %q, want %q", d, got, want)
		}
	}
}
