package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		want   bool
	}{
		{name: "fetch metadata same-origin", header: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: true},
		{name: "fetch metadata wins over origin", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://hub.example:8080"}},
		{name: "same-site is not same-origin", header: map[string]string{"Sec-Fetch-Site": "same-site"}},
		{name: "typed by hand", header: map[string]string{"Sec-Fetch-Site": "none"}},
		{name: "origin of this host", header: map[string]string{"Origin": "http://hub.example:8080"}, want: true},
		{name: "origin of another port", header: map[string]string{"Origin": "http://hub.example:9090"}},
		{name: "origin of another host", header: map[string]string{"Origin": "http://evil.example"}},
		{name: "opaque origin", header: map[string]string{"Origin": "null"}},
		{name: "unparsable origin", header: map[string]string{"Origin": "http://%zz"}},
		{name: "neither header", header: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "http://hub.example:8080/console/jobs/api/jobs/retry", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if got := sameOrigin(r); got != tt.want {
				t.Errorf("sameOrigin with %v: got %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
