package x12

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse proves Parse never panics or hangs, that every error it returns
// is a typed *Error, and that the 997 built from whatever it parsed is
// itself readable by Parse. It is seeded with every fixture in testdata.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.edi"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ic, err := Parse(data)
		if err == nil && ic == nil {
			t.Fatal("Parse: got nil interchange and nil error")
		}
		if err != nil && len(Errors(err)) == 0 {
			t.Fatalf("Parse: error %v holds no *Error", err)
		}
		if ic == nil {
			return
		}
		ack := Ack997(ic, Errors(err), testAckControl)
		if back, err := Parse(ack); back == nil {
			t.Fatalf("parsing the 997: %v\n%q", err, ack)
		}
	})
}
