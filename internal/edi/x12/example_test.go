package x12_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/edi/x12"
)

func ExampleParse() {
	data := []byte("ISA*00*          *00*          *02*XKTL           *ZZ*LARKSPURSUP    *251112*0630*U*00401*000000007*0*P*>~\n" +
		"GS*QM*XKTL*LARKSPURSUP*20251112*0630*7*X*004010~\n" +
		"ST*214*0001~\n" +
		"B10*KT4471902*BOL-550193*XKTL~\n" +
		"AT7*X6*NS***20251112*1415*CT~\n" +
		"SE*3*0001~\n" +
		"GE*1*7~\n" +
		"IEA*1*000000007~\n")
	ic, err := x12.Parse(data)
	var xe *x12.Error
	if errors.As(err, &xe) {
		fmt.Println(xe)
		fmt.Println("AK5 code:", xe.Code)
	}
	for _, s := range ic.Groups[0].Transactions[0].Segments {
		if s.ID == "AT7" {
			fmt.Println(s.Pos, s.Element(1), s.Element(5), s.Element(6), s.Element(7))
		}
	}
	ack := x12.Ack997(ic, x12.Errors(err), x12.AckControl{
		InterchangeControl: 1,
		GroupControl:       1,
		Time:               time.Date(2025, 11, 12, 6, 31, 0, 0, time.UTC),
	})
	fmt.Printf("%s", ack[106:])
	// Output:
	// segment 6 (SE), element 1: count 3 does not match the 4 segments of transaction 0001
	// AK5 code: 4
	// 5 X6 20251112 1415 CT
	// GS*FA*LARKSPURSUP*XKTL*20251112*0631*1*X*004010~ST*997*0001~AK1*QM*7~AK2*214*0001~AK5*R*4~AK9*R*1*1*0~SE*6*0001~GE*1*1~IEA*1*000000001~
}
