// Package loadgen drives a running Waybill over HTTP with events and
// measures accepted events per second and request latency.
//
// Each of Params.Clients goroutines keeps one keep-alive connection and
// sends its share of Params.Events, one event per request or Params.Batch
// per request. Bodies are built before timing starts. A 429 is retried
// with the same body (the server dedupes by event id) after Retry-After,
// capped at one second.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Params configures a run.
type Params struct {
	URL      string        // base URL, e.g. http://127.0.0.1:8080
	Key      string        // API key with events:write
	Clients  int           // concurrent connections (default 64)
	Events   int           // total events (default 100000)
	Batch    int           // events per request; 1 = single-event requests
	Mix      string        // "planned" (default) or "lifecycle"
	Duration time.Duration // optional cap on run time
	Progress io.Writer     // one progress line a second, or nil
}

// Result is what a run measured.
type Result struct {
	Accepted, Duplicates, Rejected, Throttled, Errors int
	Requests                                          int
	Elapsed                                           time.Duration
	EventsPerSecond                                   float64
	P50, P99, Max                                     time.Duration
}

func (p *Params) validate() error {
	var errs []error
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("--url must be an absolute http(s) URL"))
	}
	if p.Key == "" {
		errs = append(errs, errors.New("--key is required (an API key with events:write)"))
	}
	if p.Clients == 0 {
		p.Clients = 64
	}
	if p.Events == 0 {
		p.Events = 100000
	}
	if p.Batch == 0 {
		p.Batch = 1
	}
	if p.Mix == "" {
		p.Mix = "planned"
	}
	if p.Clients < 1 || p.Clients > 4096 {
		errs = append(errs, errors.New("--clients must be 1 to 4096"))
	}
	if p.Batch < 1 || p.Batch > 1000 {
		errs = append(errs, errors.New("--batch must be 1 to 1000"))
	}
	if p.Events < 1 {
		errs = append(errs, errors.New("--events must be at least 1"))
	}
	if p.Mix != "planned" && p.Mix != "lifecycle" {
		errs = append(errs, errors.New(`--mix must be "planned" or "lifecycle"`))
	}
	return errors.Join(errs...)
}

const plannedData = `{"customer":{"ref":"loadgen:cust-7","name":"Acme Retail"},"origin":{"name":"WH Rotterdam","country":"NL","unlocode":"NLRTM"},"destination":{"name":"Acme DC Duisburg","city":"Duisburg","country":"DE"},"lines":[{"line_id":"1","sku":"PAL-EUR-01","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","sku":"BOX-20KG","quantity":{"value":"40","unit":"KGM"}}],"weight":{"value":"852.5","unit":"KGM"}}`

const reservedData = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`

func event(run string, n int, typ, subject, data string) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":"%s-%d","source":"loadgen/%s","type":%q,"subject":%q,"time":"2026-11-26T10:00:00+01:00","datacontenttype":"application/json","data":%s}`,
		run, n, run, typ, subject, data)
}

// bodies builds every request body of one client.
func (p *Params) bodies(run string, client, events int) [][]byte {
	evs := make([][]byte, 0, events)
	for i := 0; i < events; i++ {
		n := client*10_000_000 + i
		if p.Mix == "lifecycle" {
			subject := fmt.Sprintf("loadgen:%s-%d-%d", run, client, i/2)
			if i%2 == 0 {
				evs = append(evs, event(run, n, "shipment.planned", subject, plannedData))
			} else {
				evs = append(evs, event(run, n, "inventory.reserved", subject, reservedData))
			}
			continue
		}
		evs = append(evs, event(run, n, "shipment.planned", fmt.Sprintf("loadgen:%s-%d", run, n), plannedData))
	}
	if p.Batch == 1 {
		return evs
	}
	var out [][]byte
	for start := 0; start < len(evs); start += p.Batch {
		part := evs[start:min(start+p.Batch, len(evs))]
		out = append(out, append(append([]byte{'['}, bytes.Join(part, []byte{','})...), ']'))
	}
	return out
}

type counters struct {
	accepted, duplicates, rejected, throttled, errors, requests atomic.Int64
}

// Run sends the events and returns what it measured. It returns an error
// as well when more than 1% of requests failed.
func Run(ctx context.Context, p *Params) (*Result, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if p.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Duration)
		defer cancel()
	}
	run := uuid.NewString()[:8]
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: p.Clients, MaxIdleConnsPerHost: p.Clients, MaxConnsPerHost: p.Clients,
			DisableCompression: true, IdleConnTimeout: 90 * time.Second,
		},
	}
	ctype := "application/cloudevents+json"
	if p.Batch > 1 {
		ctype = "application/cloudevents-batch+json"
	}
	per := make([][][]byte, p.Clients)
	for c := range p.Clients {
		n := p.Events / p.Clients
		if c < p.Events%p.Clients {
			n++
		}
		per[c] = p.bodies(run, c, n)
	}

	var cnt counters
	lat := make([][]time.Duration, p.Clients)
	start := time.Now()
	stopProgress := make(chan struct{})
	var progressDone sync.WaitGroup
	if p.Progress != nil {
		progressDone.Add(1)
		go func() {
			defer progressDone.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					el := time.Since(start)
					done := cnt.accepted.Load() + cnt.duplicates.Load()
					fmt.Fprintf(p.Progress, "%5.1fs  %d/%d events  %.0f events/s  %d errors  %d throttled\n",
						el.Seconds(), done, p.Events, float64(done)/el.Seconds(), cnt.errors.Load(), cnt.throttled.Load())
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for c := range p.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[c] = make([]time.Duration, 0, len(per[c]))
			for _, body := range per[c] {
				for ctx.Err() == nil {
					t0 := time.Now()
					status, retry, err := send(ctx, client, p, ctype, body, &cnt)
					lat[c] = append(lat[c], time.Since(t0))
					cnt.requests.Add(1)
					if err != nil {
						cnt.errors.Add(1)
						break
					}
					if status != http.StatusTooManyRequests {
						break
					}
					cnt.throttled.Add(1)
					select {
					case <-ctx.Done():
					case <-time.After(retry):
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	progressDone.Wait()

	res := &Result{
		Accepted: int(cnt.accepted.Load()), Duplicates: int(cnt.duplicates.Load()), Rejected: int(cnt.rejected.Load()),
		Throttled: int(cnt.throttled.Load()), Errors: int(cnt.errors.Load()), Requests: int(cnt.requests.Load()),
		Elapsed: time.Since(start),
	}
	res.EventsPerSecond = float64(res.Accepted+res.Duplicates) / res.Elapsed.Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		res.P50, res.P99, res.Max = all[len(all)*50/100], all[min(len(all)-1, len(all)*99/100)], all[len(all)-1]
	}
	if res.Requests > 0 && res.Errors*100 > res.Requests {
		return res, fmt.Errorf("%d of %d requests failed", res.Errors, res.Requests)
	}
	return res, nil
}

func send(ctx context.Context, client *http.Client, p *Params, ctype string, body []byte, cnt *counters) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+p.Key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	switch resp.StatusCode {
	case http.StatusAccepted:
		cnt.accepted.Add(1)
	case http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, min(time.Duration(secs)*time.Second, time.Second), nil
	case http.StatusOK:
		if p.Batch == 1 {
			cnt.duplicates.Add(1)
			break
		}
		var br struct {
			Results []struct {
				Status int `json:"status"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &br); err != nil {
			return resp.StatusCode, 0, fmt.Errorf("decoding batch receipt: %w", err)
		}
		for _, r := range br.Results {
			switch r.Status {
			case http.StatusAccepted:
				cnt.accepted.Add(1)
			case http.StatusOK:
				cnt.duplicates.Add(1)
			default:
				cnt.rejected.Add(1)
			}
		}
	default:
		return resp.StatusCode, 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode, 0, nil
}

// WriteSummary prints the result for a person.
func (r *Result) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "accepted %d, duplicates %d, rejected %d, throttled %d, errors %d in %d requests over %.2fs\n",
		r.Accepted, r.Duplicates, r.Rejected, r.Throttled, r.Errors, r.Requests, r.Elapsed.Seconds())
	fmt.Fprintf(w, "%.0f events/s   request latency p50 %s   p99 %s   max %s\n", r.EventsPerSecond,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}
