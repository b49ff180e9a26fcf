package source

import (
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/edi/edifact"
	"github.com/waybill/waybill/internal/edi/x12"
	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/podapp"
)

// ErrRejected is wrapped by the error of a payload that gave nothing:
// it cannot be read, or every part of it failed.
var ErrRejected = errors.New("payload rejected")

// Control numbers the 997 of a mapping is written with.
type Control = x12.AckControl

// Mapped is what one payload becomes, before anything is stored.
type Mapped struct {
	tracking.Mapped
	// Ack is the X12 997 for an X12 payload whose envelope could be read.
	Ack []byte
	// Problems are the parts that failed while others succeeded, located
	// (an X12 transaction set, an EDIFACT message).
	Problems []string
}

// Map turns a payload of p's format into canonical values, touching
// nothing. An X12 payload gets its 997, with ctl's control numbers. The
// error wraps ErrRejected when nothing could be taken from the payload;
// it is then the located problem (a *x12.Error, *edifact.Error or the
// mapping's error), and Mapped may still hold the 997 rejecting it.
func (p *Profile) Map(body []byte, ctl Control) (Mapped, error) {
	switch p.Format {
	case FormatX12:
		return p.mapX12(body, ctl)
	case FormatEDIFACT:
		ic, err := edifact.Parse(body)
		if err != nil {
			return Mapped{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		m, err := edifact.MapIFTSTA(ic, &p.Partner)
		if err != nil {
			return Mapped{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return Mapped{Mapped: m}, nil
	case FormatPODApp:
		m, err := podapp.Map(body, &p.Partner)
		if err != nil {
			return Mapped{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return Mapped{Mapped: m}, nil
	default:
		if p.Mapping == nil {
			return Mapped{}, fmt.Errorf("%w: source %s has no mapping", ErrRejected, p.ID)
		}
		m, err := p.Mapping.Apply(body, &p.Partner)
		if err != nil {
			return Mapped{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return Mapped{Mapped: m}, nil
	}
}

func (p *Profile) mapX12(body []byte, ctl Control) (Mapped, error) {
	ic, perr := x12.Parse(body)
	if ic == nil {
		return Mapped{}, fmt.Errorf("%w: %w", ErrRejected, perr)
	}
	errs := x12.Errors(perr)
	m, merrs := x12.Map(ic, &p.Partner)
	errs = append(errs, merrs...)
	if ctl.Time.IsZero() {
		ctl.Time = time.Now()
	}
	if ctl.InterchangeControl == 0 {
		ctl.InterchangeControl = 1
	}
	if ctl.GroupControl == 0 {
		ctl.GroupControl = ctl.InterchangeControl
	}
	// The 997 comes from Waybill's own X12 id when the profile names it,
	// whatever the partner addressed.
	ctl.SenderID, ctl.SenderQualifier = p.InterchangeID, p.Qualifier
	out := Mapped{Mapped: m, Ack: x12.Ack997(ic, errs, ctl)}
	for _, e := range errs {
		out.Problems = append(out.Problems, e.Error())
	}
	if len(m.Events)+len(m.Invoices)+len(m.Responses) == 0 && len(errs) > 0 {
		return out, fmt.Errorf("%w: %w", ErrRejected, errors.Join(asErrors(errs)...))
	}
	return out, nil
}

func asErrors(errs []*x12.Error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// CloudEvents returns the events the mapped values become, each made by
// the profile's source, with correlationID. A value that cannot become an
// event (it names no shipment) is reported in problems and left out.
func (p *Profile) CloudEvents(m tracking.Mapped, correlationID string, received time.Time) (events [][]byte, problems []string) {
	for i := range m.Events {
		raw, err := m.Events[i].CloudEvent(p.ID, correlationID)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		events = append(events, raw)
	}
	for i := range m.Invoices {
		raw, err := m.Invoices[i].CloudEvent(p.ID, correlationID)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		events = append(events, raw)
	}
	for i := range m.Deliveries {
		raws, err := m.Deliveries[i].CloudEvents(p.ID, correlationID)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		events = append(events, raws...)
	}
	for i := range m.Responses {
		raw, err := m.Responses[i].CloudEvent(p.ID, correlationID, received)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		events = append(events, raw)
	}
	return events, problems
}
