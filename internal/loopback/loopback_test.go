package loopback_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/waybill/waybill/internal/loopback"
)

func TestDownUpClose(t *testing.T) {
	srv, err := loopback.Start(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() error {
		resp, err := client.Get(srv.URL())
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("up: %v", err)
	}
	url := srv.URL()
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("a request succeeded while down")
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil || srv.URL() != url {
		t.Fatalf("after Up: %v, url %s (was %s)", err, srv.URL(), url)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Up(); !errors.Is(err, loopback.ErrClosed) {
		t.Fatalf("Up after Close: %v, want ErrClosed", err)
	}
}
