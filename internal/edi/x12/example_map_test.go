package x12_test

import (
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/edi/x12"
	"github.com/waybill/waybill/internal/tracking"
)

func ExampleMap() {
	data := []byte("ISA*00*          *00*          *02*XKTL           *ZZ*LARKSPURSUP    *251114*1040*U*00401*000004730*0*P*>~\n" +
		"GS*QM*XKTL*LARKSPURSUP*20251114*1040*4730*X*004010~\n" +
		"ST*214*0001~\n" +
		"B10*KT4471902*BOL-550193*XKTL~\n" +
		"LX*1~\n" +
		"AT7*D1*NS***20251114*1027*ET~\n" +
		"MS1*COLUMBUS*OH*US~\n" +
		"K1*POD SIGNED BY*R OKAFOR~\n" +
		"SE*7*0001~\n" +
		"ST*214*0002~\n" +
		"B10*KT4471950*BOL-550244*XKTL~\n" +
		"LX*1~\n" +
		"AT7*AF*NS***20251110*1605*LT~\n" +
		"SE*5*0002~\n" +
		"GE*2*4730~\n" +
		"IEA*1*000004730~\n")
	ic, err := x12.Parse(data)
	if ic == nil {
		fmt.Println("rejected:", err)
		return
	}
	// Set 0002 has an LT time and no MS1 location; this partner has no
	// default zone, so the set cannot be mapped.
	m, mapErrs := x12.Map(ic, &tracking.Partner{ID: "XKTL"})
	for _, ev := range m.Events {
		fmt.Println(ev.Status, ev.OccurredAt.Format(time.RFC3339), ev.POD.Signer, ev.Keys.Refs())
	}
	for _, e := range mapErrs {
		fmt.Println(e, "| 997 code", e.Code)
	}
	ack := x12.Ack997(ic, append(x12.Errors(err), mapErrs...), x12.AckControl{
		InterchangeControl: 1,
		GroupControl:       1,
		Time:               time.Date(2025, 11, 14, 10, 41, 0, 0, time.UTC),
	})
	fmt.Printf("%s\n", ack[106+len("GS*FA*LARKSPURSUP*XKTL*20251114*1041*1*X*004010~"):])
	// Output:
	// delivered 2025-11-14T15:27:00Z R OKAFOR [pro:XKTL/KT4471902 bol:BOL-550193]
	// segment 13 (AT7), element 7: resolving local time 2025-11-10T16:05:00: local time without a zone: set the source's default time zone | 997 code 5
	// ST*997*0001~AK1*QM*4730~AK2*214*0001~AK5*A~AK2*214*0002~AK5*R*5~AK9*P*2*2*1~SE*8*0001~GE*1*1~IEA*1*000000001~
}
