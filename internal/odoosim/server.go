package odoosim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrServerClosed is returned by Up after Close.
var ErrServerClosed = errors.New("odoo simulator server closed")

// Server serves a Sim on a loopback port. Down and Up stop and restart listening on the same port
// while the simulated database is kept.
type Server struct {
	sim *Sim

	mu     sync.Mutex // guards the fields below
	addr   string
	srv    *http.Server
	done   chan struct{}
	closed bool
}

// Start runs New and serves it on a fresh 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	sim, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for odoo simulator: %w", err)
	}
	s := &Server{sim: sim, addr: ln.Addr().String()}
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.sim, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	s.srv, s.done = srv, done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// URL returns "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.addr }

// Sim returns the simulator being served.
func (s *Server) Sim() *Sim { return s.sim }

// Down stops accepting connections and closes open ones; the simulator state is kept.
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

// Up listens again on the same port after Down. It is a no-op when already up.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.srv != nil {
		return nil
	}
	// the old socket may linger briefly; retry for a moment
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
