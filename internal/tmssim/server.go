package tmssim

import (
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/loopback"
)

// Server serves a Sim on a loopback port. Down and Up stop and restart
// listening on the same port; accepted releases and running lifecycles are
// kept. Up after Close fails with ErrClosed.
type Server struct {
	*loopback.Server
	sim *Sim
}

// Start runs New and serves the simulator on a fresh 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	sim, err := New(opts)
	if err != nil {
		return nil, err
	}
	srv, err := loopback.Start(sim)
	if err != nil {
		_ = sim.Close()
		return nil, fmt.Errorf("starting the tms simulator: %w", err)
	}
	return &Server{Server: srv, sim: sim}, nil
}

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

// Up listens again on the same port after Down. It fails with ErrClosed
// after Close.
func (s *Server) Up() error {
	err := s.Server.Up()
	if errors.Is(err, loopback.ErrClosed) {
		return ErrClosed
	}
	return err
}

// Close stops the server for good, then closes the simulator: running
// lifecycles stop. It is idempotent.
func (s *Server) Close() error {
	return errors.Join(s.Server.Close(), s.sim.Close())
}
