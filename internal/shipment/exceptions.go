package shipment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/waybill/waybill/internal/event"
)

// RouteChange is the open route_changed exception that made the workflow
// send the dispatch again (ActionDispatchUpdate): the last one, when
// several are open.
func (s *Shipment) RouteChange() (ExceptionRecord, bool) {
	for i := len(s.Exceptions) - 1; i >= 0; i-- {
		if e := s.Exceptions[i]; e.Category == RouteChanged && e.Status == ExceptionOpen {
			return e, true
		}
	}
	return ExceptionRecord{}, false
}

func (s *Shipment) openExceptions() []string {
	var out []string
	for _, e := range s.Exceptions {
		if e.Status == ExceptionOpen {
			out = append(out, fmt.Sprintf("%s (%s)", e.ID, e.Category))
		}
	}
	return out
}

func (s *Shipment) applyException(in Input, p Policy) Result {
	d, err := decodeData[event.ShipmentExceptionData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	category, lines := ExceptionCategory(d.Category), lineQtys(d.Lines)
	if !slices.Contains(ExceptionCategories(), category) {
		return rejected("unknown exception category %q", d.Category)
	}
	id := d.ExceptionID
	if id == "" {
		id = d.Category
	}
	i := slices.IndexFunc(s.Exceptions, func(e ExceptionRecord) bool { return e.ID == id && e.Status == ExceptionOpen })
	if d.Status == "resolved" {
		if i < 0 {
			return rejected("no open exception %s to resolve", id)
		}
		s.closeException(i, in, ResolutionResolved)
		s.closeReviewOf(id, in, ReviewResolved, "resolved", "", "resolved by "+string(in.Type))
		s.milestone(in, false, nil, "resolved "+id)
		return s.billing(in, p)
	}
	if err := s.resolveSKUs(lines); err != nil {
		return rejected("%v", err)
	}
	for _, l := range lines {
		if s.line(l.LineID) == nil {
			return rejected("line %s is not on the shipment", l.LineID)
		}
	}
	if i >= 0 {
		return rejected("exception %s is already open", id)
	}
	s.openException(in, ExceptionRecord{ID: id, Category: category, OwnerRole: d.OwnerRole,
		Description: d.Description, ReasonCode: d.ReasonCode, Lines: lines})
	s.milestone(in, false, nil, d.Category)
	res := Result{Outcome: OutcomeApplied}
	if category == RouteChanged && rank[s.current()] >= rank[Released] && rank[s.current()] < rank[Delivered] {
		// The TMS planned the old route: send it the dispatch again.
		res.Actions = []string{ActionDispatchUpdate}
	}
	return res
}

// openException opens exception e, with a review for its owner, and puts
// the shipment under the exception overlay.
func (s *Shipment) openException(in Input, e ExceptionRecord) {
	if e.OwnerRole == "" {
		e.OwnerRole = ownerRole[e.Category]
	}
	e.Status, e.OpenedAt, e.EventID = ExceptionOpen, in.Time, in.EventID
	s.Exceptions = append(s.Exceptions, e)
	reason := "exception " + e.ID + " (" + string(e.Category) + ")"
	if e.Description != "" {
		reason += ": " + e.Description
	}
	s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewException, Status: ReviewOpen, ExceptionID: e.ID,
		OwnerRole: e.OwnerRole, OpenedAt: in.Time, Reason: reason})
	if s.State != trExceptionOpened.To {
		s.ResumeState, s.State = s.State, trExceptionOpened.To
	}
	s.BlockedReason = "open exception " + strings.Join(s.openExceptions(), ", ")
}

// closeException closes exception i, and the exception overlay once no
// exception is open.
func (s *Shipment) closeException(i int, in Input, resolution Resolution) {
	at := in.Time
	s.Exceptions[i].Status, s.Exceptions[i].ResolvedAt, s.Exceptions[i].Resolution = ExceptionResolved, &at, resolution
	if s.State == Exception && len(s.openExceptions()) == 0 {
		s.State, s.ResumeState = s.ResumeState, ""
	}
	s.BlockedReason = ""
}

// closeReviewOf closes the open review of exception id, if any.
func (s *Shipment) closeReviewOf(exceptionID string, in Input, status, decision, actor, note string) {
	for i := range s.Reviews {
		r := &s.Reviews[i]
		if r.Kind == ReviewException && r.ExceptionID == exceptionID && r.Status == ReviewOpen {
			at := in.Time
			r.Status, r.Decision, r.Actor, r.Note, r.DecidedAt, r.DecisionEventID = status, decision, actor, note, &at, in.EventID
		}
	}
}

// Review decisions.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionResolve = "resolve"
)

// Decisions lists every review decision. The caller owns the slice.
func Decisions() []string { return []string{DecisionApprove, DecisionReject, DecisionResolve} }

// consequences are the outbound actions an approved exception calls for:
// damaged goods, and goods missing at delivery (short, lost), are taken
// back from the delivery and written off (scrapped); refused or returned
// goods are taken back into stock. Either way they are not invoiced.
var consequences = map[ExceptionCategory]string{
	Damaged:      ActionStockScrap,
	ShortShipped: ActionStockScrap,
	Lost:         ActionStockScrap,
	Refused:      ActionPickingReturn,
	ReturnedGood: ActionPickingReturn,
}

// applyDecision carries out a person's decision on an open review.
func (s *Shipment) applyDecision(in Input, p Policy) Result {
	d, err := decodeData[event.ReviewDecidedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	i := slices.IndexFunc(s.Reviews, func(r Review) bool { return r.ID == d.ReviewID })
	if i < 0 {
		return rejected("review %s is not on the shipment", d.ReviewID)
	}
	r := &s.Reviews[i]
	if r.Status != ReviewOpen {
		return rejected("review %s is already %s", r.ID, r.Status)
	}
	status := map[string]string{DecisionApprove: ReviewApproved, DecisionReject: ReviewRejected, DecisionResolve: ReviewResolved}[d.Decision]
	if status == "" {
		return rejected("unknown decision %q", d.Decision)
	}
	decide := func() {
		at := in.Time
		r.Status, r.Decision, r.Actor, r.Note, r.DecidedAt, r.DecisionEventID = status, d.Decision, d.Actor, d.Reason, &at, in.EventID
	}
	note := d.Decision + " by " + d.Actor
	if d.Reason != "" {
		note += ": " + d.Reason
	}
	switch r.Kind {
	case ReviewPOD:
		if d.Decision == DecisionResolve {
			return rejected("a proof of delivery is approved or rejected, not resolved")
		}
		if s.POD == nil || s.POD.EventID != r.ID {
			return rejected("review %s is about a proof of delivery that was replaced", r.ID)
		}
		decide()
		s.milestone(in, false, nil, "proof of delivery "+note)
		if d.Decision == DecisionReject {
			s.POD.Validation.Status = PODRejected
			s.BlockedReason = "not billable: proof of delivery rejected by " + d.Actor + ": send a new one"
			return Result{Outcome: OutcomeApplied}
		}
		s.POD.Validation.Status = PODApproved
		return s.billing(in, p)
	case ReviewShortage:
		if d.Decision == DecisionApprove {
			// Ship what is reserved: a release by hand, for the
			// shipments the partial-release policy does not cover.
			if !slices.Contains(trDecidedPartRelease.From, s.State) {
				return rejected("only a short shipment can be released in part (it is %s)", s.State)
			}
			if !s.anyReserved() {
				return rejected("nothing is reserved to release")
			}
			decide()
			s.milestone(in, false, nil, "shortage "+note+": released in part")
			s.State, s.BlockedReason = trDecidedPartRelease.To, ""
			return Result{Outcome: OutcomeApplied, Actions: []string{ActionDispatchRelease}}
		}
		decide()
		s.milestone(in, false, nil, "shortage "+note)
		return Result{Outcome: OutcomeApplied}
	case ReviewRating:
		decide()
		s.milestone(in, false, nil, "rating "+note)
		switch d.Decision {
		case DecisionApprove: // bill without rated charges
			return s.billing(in, p)
		case DecisionResolve: // the rules were fixed: rate again
			return s.billing(in, p)
		}
		s.BlockedReason = "not billable: rating rejected by " + d.Actor
		return Result{Outcome: OutcomeApplied}
	case ReviewException:
		j := slices.IndexFunc(s.Exceptions, func(e ExceptionRecord) bool { return e.ID == r.ExceptionID && e.Status == ExceptionOpen })
		if j < 0 {
			return rejected("exception %s of review %s is no longer open", r.ExceptionID, r.ID)
		}
		decide()
		e := s.Exceptions[j]
		resolution := map[string]Resolution{DecisionApprove: ResolutionApproved, DecisionReject: ResolutionDismissed, DecisionResolve: ResolutionResolved}[d.Decision]
		s.closeException(j, in, resolution)
		s.milestone(in, false, nil, "exception "+e.ID+" "+note)
		var actions []string
		if kind, ok := consequences[e.Category]; ok && d.Decision == DecisionApprove && len(e.Lines) > 0 {
			actions = append(actions, kind)
			if s.current() == Invoiced {
				// Billed already: invoicing again after the goods came
				// back credits them.
				actions = append(actions, ActionInvoicePrepare)
			}
		}
		res := s.billing(in, p)
		res.Actions = append(actions, res.Actions...)
		return res
	}
	return rejected("review %s has unknown kind %s", r.ID, r.Kind)
}
