package tmssim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// run sends the lifecycle events of one release in order, Step apart, until
// they are all sent or the simulator closes.
func (s *Sim) run(dispatchID, shipmentID string, events []outEvent) {
	defer s.wg.Done()
	for i, ev := range events {
		if i > 0 && !sleep(s.ctx, s.step) {
			return
		}
		se := s.send(dispatchID, shipmentID, ev)
		s.mu.Lock()
		s.sent = append(s.sent, se)
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
	}
}

// send POSTs one event to Waybill until it is accepted, refused for good,
// or the simulator closes, and reports how it ended.
func (s *Sim) send(dispatchID, shipmentID string, ev outEvent) SentEvent {
	se := SentEvent{
		DispatchID: dispatchID, ID: ev.id, Type: ev.typ, Subject: shipmentID, Time: ev.time,
		Data: ev.data, Body: ev.body,
	}
	attrs := []any{slog.String("shipment_id", shipmentID), slog.String("event_id", ev.id), slog.String("event_type", string(ev.typ))}
	backoff := retryMin
	for {
		se.Attempts++
		status, wait, detail, err := s.post(ev.body)
		if err == nil {
			se.Status = status
		}
		switch {
		case err != nil:
			s.log.DebugContext(s.ctx, "tmssim could not reach waybill", append(attrs, slog.Int("attempt", se.Attempts), slog.Any("err", err))...)
		case status >= 200 && status <= 299:
			se.Duplicate = status == http.StatusOK
			return se
		case status == http.StatusConflict:
			se.Duplicate = true
			s.log.WarnContext(s.ctx, "waybill holds another event under this id; moving on", append(attrs, slog.String("detail", detail))...)
			return se
		case status == http.StatusTooManyRequests || status >= 500:
			s.log.DebugContext(s.ctx, "waybill asked to retry an event", append(attrs, slog.Int("attempt", se.Attempts), slog.Int("status", status))...)
		default:
			se.Failed = true
			se.Err = fmt.Sprintf("waybill answered %d: %s", status, detail)
			s.log.ErrorContext(s.ctx, "waybill refused a tmssim event", append(attrs, slog.Int("status", status), slog.String("detail", detail))...)
			return se
		}
		if !sleep(s.ctx, max(backoff, wait)) {
			se.Failed = true
			se.Err = context.Cause(s.ctx).Error()
			return se
		}
		backoff = min(2*backoff, retryMax)
	}
}

// post sends one event and returns the status, the Retry-After wait and the
// start of the body; err is set when no answer came.
func (s *Sim) post(body []byte) (status int, retryAfter time.Duration, detail string, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.events, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "waybill-tmssim")
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if cause := context.Cause(s.ctx); errors.Is(cause, ErrClosed) {
			err = cause
		}
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")), strings.TrimSpace(string(snippet)), nil
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date,
// capped at retryAfterMax; anything else is 0.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return min(max(time.Duration(secs)*time.Second, 0), retryAfterMax)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), retryAfterMax)
	}
	return 0
}
