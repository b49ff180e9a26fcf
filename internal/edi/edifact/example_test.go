package edifact_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/edi/edifact"
	"github.com/waybill/waybill/internal/tracking"
)

func ExampleParse() {
	data := []byte("UNA:+.? '\n" +
		"UNB+UNOC:3+SENDER:ZZZ+RECIPIENT:ZZZ+251112:1800+REF1'\n" +
		"UNH+1+IFTSTA:D:01B:UN'\n" +
		"CNI+1+CONS1'\n" +
		"STS+1+23+7'\n" +
		"DTM+334:202511121745:203'\n" +
		"LOC+175+BEANR::6'\n" +
		"FTX+DEL+++CLOSED 17?:30'\n" +
		"UNT+7+1'\n" +
		"UNZ+1+REF1'\n")
	ic, err := edifact.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := &ic.Messages[0]
	fmt.Println(ic.ControlRef, m.Type, m.Version+m.Release)
	sts, err := edifact.Statuses(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sts {
		fmt.Println(s.ConsignmentRef, s.Code, s.Reasons, s.Times[0].Value, s.Times[0].Format, s.Place, s.Texts[0].Lines[0])
	}
	// Output:
	// REF1 IFTSTA D01B
	// CONS1 23 [7] 202511121745 203 BEANR CLOSED 17:30
}

func ExampleError() {
	_, err := edifact.Parse([]byte("UNB+UNOC:3+A+B+251112:1800+REF1'UNH+1+IFTSTA:D:01B:UN'UNT+3+1'UNZ+1+REF1'"))
	var e *edifact.Error
	if errors.As(err, &e) {
		fmt.Println(e.Tag, e.Element, errors.Is(err, edifact.ErrEnvelope))
	}
	fmt.Println(err)
	// Output:
	// UNT 1 true
	// segment 3 (UNT), element 1: count 3 does not match the 2 segments of message 1
}

func ExampleMapIFTSTA() {
	data := []byte("UNB+UNOC:3+SENDER:ZZZ+RECIPIENT:ZZZ+251112:1800+REF1'" +
		"UNH+1+IFTSTA:D:01B:UN'" +
		"NAD+CA+CARRIER'" +
		"CNI+1+CONS1'" +
		"STS+1+23+7'" +
		"RFF+CU:ORDER-9'" +
		"DTM+334:202511121745:203'" +
		"LOC+175+BEANR::6'" +
		"FTX+DEL+++CLOSED 17?:30'" +
		"UNT+9+1'" +
		"UNZ+1+REF1'")
	ic, err := edifact.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	mapped, err := edifact.MapIFTSTA(ic, &tracking.Partner{Zone: "Europe/Amsterdam"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range mapped.Events {
		fmt.Println(e.Keys.ConsignmentID, e.Keys.CustomerRef, e.Keys.Carrier)
		fmt.Println(e.Status, e.Reason, e.RawCode, e.RawReason)
		fmt.Println(e.OccurredAt.Format(time.RFC3339), e.Local, e.TZ, e.TZSource)
		fmt.Println(e.Remarks)
	}
	// Output:
	// CONS1 ORDER-9 CARRIER
	// delivery_attempted consignee_closed 23 7
	// 2025-11-12T16:45:00Z 2025-11-12T17:45:00 Europe/Brussels location
	// [CLOSED 17:30]
}
