package x12

import (
	"errors"
	"strings"

	"github.com/waybill/waybill/internal/tracking"
)

// Map990 turns one 990 (response to a load tender) transaction set into a
// tender response.
//
// B1 gives the SCAC (01, else the ISA sender when [Map] finds one), the
// shipment identification the tender sent in B2-04, kept as the BOL (02),
// the civil date of the response (03) and the reservation action code (04):
// A (accepted) gives Accepted; D (declined or cancelled), E (declined), B
// (conditional acceptance) and C (counter proposal) do not, since each
// needs someone to look at it. Any other code is an error. N9 references
// fill the keys (BM when B1-02 is empty, CN PRO, PO purchase orders). The
// reason is the B1-06 decline reason code when sent, else the K1 remarks
// joined with "; ".
//
// SourceEventID hashes the SCAC, the shipment identification, the action
// and the date. A set that cannot be mapped gives an error holding one
// *Error per problem and a zero TenderResponse.
func Map990(tx *Transaction, p *tracking.Partner) (tracking.TenderResponse, error) {
	return map990(tx, partnerOrZero(p), envelope{})
}

// tenderActions are the B1-04 reservation action codes (element 558) of a
// tender response, and whether each accepts the tender.
var tenderActions = map[string]bool{"A": true, "B": false, "C": false, "D": false, "E": false}

func map990(tx *Transaction, _ *tracking.Partner, env envelope) (tracking.TenderResponse, error) {
	if tx == nil || len(tx.Segments) == 0 {
		return tracking.TenderResponse{}, errors.New("mapping 990: empty transaction set")
	}
	var (
		b1      *Segment
		keys    tracking.Keys
		remarks []string
		errs    []*Error
	)
	for _, s := range tx.Segments[1:] {
		switch s.ID {
		case "B1":
			if b1 == nil {
				b1 = &s
			}
		case "N9":
			switch v := s.Element(2); s.Element(1) {
			case "BM":
				if keys.BOL == "" {
					keys.BOL = v
				}
			case "CN":
				if keys.PRO == "" {
					keys.PRO = v
				}
			case "PO":
				keys.PO = appendUnique(keys.PO, v)
			}
		case "K1":
			for i := 1; i <= len(s.Elements); i++ {
				if r := strings.TrimSpace(s.Element(i)); r != "" {
					remarks = append(remarks, r)
				}
			}
		}
	}
	if b1 == nil {
		return tracking.TenderResponse{}, missingErr(tx, "B1")
	}
	resp := tracking.TenderResponse{Action: b1.Element(4)}
	keys.SCAC = b1.Element(1)
	if keys.SCAC == "" {
		keys.SCAC = env.scac
	}
	if id := b1.Element(2); id != "" {
		keys.BOL = id
	}
	if len(keys.Refs()) == 0 {
		errs = append(errs, segErr(*b1, 2, "no shipment identification: the response names no tender"))
	}
	accepted, known := tenderActions[resp.Action]
	switch {
	case resp.Action == "":
		errs = append(errs, segErr(*b1, 4, "no reservation action code"))
	case !known:
		errs = append(errs, segErr(*b1, 4, "reservation action code %q is not a tender response (A, B, C, D or E)", resp.Action))
	}
	resp.Accepted = accepted
	if d := b1.Element(3); d != "" {
		date, ok := civilDate(d)
		if !ok {
			errs = append(errs, segErr(*b1, 3, "date %q is not CCYYMMDD", d))
		}
		resp.Date = date
	}
	resp.Reason = b1.Element(6)
	if resp.Reason == "" {
		resp.Reason = strings.Join(remarks, "; ")
	}
	resp.Keys = keys
	resp.SourceEventID = sourceID("x12-990-", keys.SCAC, b1.Element(2), resp.Action, b1.Element(3))
	if len(errs) > 0 {
		return tracking.TenderResponse{}, joinErrs(errs)
	}
	return resp, nil
}
