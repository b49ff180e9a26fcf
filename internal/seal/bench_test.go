package seal_test

import (
	"bytes"
	"testing"

	"github.com/waybill/waybill/internal/seal"
)

// BenchmarkSealOpenText seals and opens a 1 KiB event body. Run:
//
//	go test ./internal/seal -run '^$' -bench . -benchmem
func BenchmarkSealOpenText(b *testing.B) {
	kr, err := seal.New(map[string][]byte{"0123456789abcdef": seal.NewKey()}, "0123456789abcdef")
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte(`{"x":1}`), 1024/7)
	place := seal.Place("events", "body", "01a2436f-bb33-7d10-888a-e81ffc074109")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		v := kr.SealText(body, place)
		if _, err := kr.OpenText(v, place); err != nil {
			b.Fatal(err)
		}
	}
}
