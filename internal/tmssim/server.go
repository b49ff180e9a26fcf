package tmssim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves a Sim on a loopback port. Down and Up stop and restart
// listening on the same port; accepted releases and running lifecycles are
// kept.
type Server struct {
	sim *Sim

	mu     sync.Mutex // guards the fields below; never held while taking Sim's
	addr   string
	srv    *http.Server
	done   chan struct{}
	closed bool
}

// Start runs New and serves the simulator on a fresh 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	sim, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = sim.Close()
		return nil, fmt.Errorf("listening for tms simulator: %w", err)
	}
	s := &Server{sim: sim, addr: ln.Addr().String()}
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:           s.sim,
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

// URL returns the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return "http://" + s.addr }

// DispatchURL returns the URL the tms connector posts releases to:
// URL() + PathDispatches.
func (s *Server) DispatchURL() string { return s.URL() + PathDispatches }

// Sim returns the simulator being served.
func (s *Server) Sim() *Sim { return s.sim }

// Faults returns the simulator's fault injections.
func (s *Server) Faults() *Faults { return s.sim.Faults() }

// Releases returns every accepted release, in acceptance order.
func (s *Server) Releases() []Release { return s.sim.Releases() }

// Sent returns every lifecycle event whose sending has ended.
func (s *Server) Sent() []SentEvent { return s.sim.Sent() }

// Down stops accepting connections and closes open ones. Accepted releases
// are kept and their lifecycles go on sending events to Waybill.
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

// Close stops the server for good, then closes the simulator: running
// lifecycles stop. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	err := s.stopLocked()
	s.mu.Unlock()
	return errors.Join(err, s.sim.Close())
}
