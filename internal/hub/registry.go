package hub

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// registry is the hub's Prometheus registry. It remembers the name of every
// metric registered on it, so that MetricNames lists those that have no
// series yet (a counter by kind before its first count) as well.
type registry struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

func newRegistry() *registry {
	return &registry{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
}

// Register registers c and records the names it describes.
func (r *registry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range ch {
		if name := descName(d); name != "" {
			r.names[name] = true
		}
	}
	return nil
}

// MustRegister registers cs and panics on the first error, as
// prometheus.Registry does: for start-up only.
func (r *registry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// descName is the fully qualified name a descriptor describes. Desc has no
// accessor for it; its String form has been `Desc{fqName: "…", …` since
// client_golang's first release.
func descName(d *prometheus.Desc) string {
	s, ok := strings.CutPrefix(d.String(), "Desc{fqName: ")
	if !ok {
		return ""
	}
	i := strings.Index(s, `", `)
	if i < 0 {
		return ""
	}
	name, err := strconv.Unquote(s[:i+1])
	if err != nil {
		return ""
	}
	return name
}

// MetricNames returns the name of every metric the hub registered on its
// registry (the families GET /metrics serves once they have a series), sorted.
func (h *Hub) MetricNames() []string {
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	out := make([]string, 0, len(h.reg.names))
	for n := range h.reg.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
