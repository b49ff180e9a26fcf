package verify_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/waybill/waybill/internal/source/verify"
)

func ExampleNew() {
	// During a rotation, both the old and the new secret are configured.
	v, err := verify.New(verify.KindAfterShip, []string{"old-secret", "new-secret"}, verify.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"event_id":"e1"}` + "\n")
	h := http.Header{}
	h.Set("aftership-hmac-sha256", "not-a-valid-signature")
	err = v.Verify(h, body, time.Now())
	switch {
	case errors.Is(err, verify.ErrMalformed), errors.Is(err, verify.ErrBadSignature):
		fmt.Println("rejected")
	case err != nil:
		fmt.Println("retry later:", err)
	default:
		fmt.Println("accepted")
	}
	// Output: rejected
}
