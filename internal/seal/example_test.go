package seal_test

import (
	"errors"
	"fmt"

	"github.com/waybill/waybill/internal/seal"
)

func Example() {
	keys := map[string][]byte{"0123456789abcdef": seal.NewKey()}
	kr, _ := seal.New(keys, "0123456789abcdef")

	place := seal.Place("events", "body", "01a2436f-bb33-7d10-888a-e81ffc074109")
	stored := kr.SealText([]byte(`{"data":{"customer":"Acme"}}`), place)
	id, _ := seal.KeyID([]byte(stored))
	fmt.Println("sealed under", id)

	plain, _ := kr.OpenText(stored, place)
	fmt.Println(string(plain))

	// Another row's place does not open it.
	_, err := kr.OpenText(stored, seal.Place("events", "body", "another-event"))
	fmt.Println(errors.Is(err, seal.ErrTampered))

	// Nor does a keyring without its key.
	other, _ := seal.New(map[string][]byte{"fedcba9876543210": seal.NewKey()}, "fedcba9876543210")
	_, err = other.OpenText(stored, place)
	var missing *seal.MissingKeyError
	fmt.Println(errors.As(err, &missing), missing.KeyID)
	// Output:
	// sealed under 0123456789abcdef
	// {"data":{"customer":"Acme"}}
	// true
	// true 0123456789abcdef
}
