package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/waybill/waybill/internal/loadgen"
)

func ExampleRun() {
	// A stand-in for the intake server that accepts every event.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"event_id":"e","correlation_id":"c","duplicate":false}`)
	}))
	defer srv.Close()

	res, err := loadgen.Run(context.Background(), &loadgen.Params{
		URL:     srv.URL,
		Key:     "wb_test_key",
		Clients: 4,
		Events:  1000,
		Mix:     loadgen.MixLifecycle,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accepted %d, errors %d, requests %d\n", res.Accepted, res.Errors, res.Requests)
	// res.WriteSummary(os.Stdout) prints throughput and latency.

	// Output:
	// accepted 1000, errors 0, requests 1000
}

func ExampleHistogram() {
	var h loadgen.Histogram
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	fmt.Println(h.Quantile(0.5).Round(100*time.Microsecond), h.Quantile(0.99).Round(100*time.Microsecond), h.Max())
	// Output:
	// 50.1ms 99.1ms 100ms
}
