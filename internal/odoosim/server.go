package odoosim

import (
	"fmt"

	"github.com/waybill/waybill/internal/loopback"
)

// ErrServerClosed is returned by Up after Close.
var ErrServerClosed = loopback.ErrClosed

// Server serves a Sim on a loopback port. Down and Up stop and restart listening on the same port
// while the simulated database is kept.
type Server struct {
	*loopback.Server
	sim *Sim
}

// Start runs New and serves it on a fresh 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	sim, err := New(opts)
	if err != nil {
		return nil, err
	}
	srv, err := loopback.Start(sim)
	if err != nil {
		return nil, fmt.Errorf("starting the odoo simulator: %w", err)
	}
	return &Server{Server: srv, sim: sim}, nil
}

// Sim returns the simulator being served.
func (s *Server) Sim() *Sim { return s.sim }
