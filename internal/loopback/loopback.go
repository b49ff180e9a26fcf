// Package loopback serves an http.Handler on a 127.0.0.1 port that can go
// down and come back up on the same port: what the simulators of outside
// systems (Odoo, a TMS) need to play an outage in tests and in the
// sandbox.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrClosed is returned by Up after Close.
var ErrClosed = errors.New("loopback server closed")

// Server serves a handler on a loopback port. It is safe for concurrent
// use.
type Server struct {
	handler http.Handler
	addr    string

	mu     sync.Mutex // guards the fields below
	srv    *http.Server
	done   chan struct{}
	closed bool
}

// Start serves h on a fresh 127.0.0.1 port.
func Start(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	s := &Server{handler: h, addr: ln.Addr().String()}
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	done := make(chan struct{})
	s.srv, s.done = srv, done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// URL returns "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.addr }

// Down stops accepting connections and closes open ones, as an outage
// would. It is a no-op when already down.
func (s *Server) Down() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	<-s.done
	s.srv, s.done = nil, nil
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Up listens again on the same port after Down. It is a no-op when already
// up, and fails with ErrClosed after Close.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.srv != nil {
		return nil
	}
	// The old socket may linger briefly; retry for a moment.
	deadline := time.Now().Add(5 * time.Second)
	ln, err := net.Listen("tcp", s.addr)
	for err != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("listening again on %s: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
		ln, err = net.Listen("tcp", s.addr)
	}
	s.serve(ln)
	return nil
}

// Close stops the server for good. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.stopLocked()
}
