package apikey

import (
	"errors"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/config"
)

// TestLabelRuleMatchesConfig checks that server.key_label_default accepts
// exactly the labels Create does, so that a valid configuration never makes
// every key creation fail.
func TestLabelRuleMatchesConfig(t *testing.T) {
	t.Parallel()
	for _, label := range []string{"", "prod", "test", "eu1", strings.Repeat("a", maxLabelLen),
		strings.Repeat("a", maxLabelLen+1), "Prod", "pre-prod", "pre_prod", "é", " prod", "prod\n"} {
		cfg := config.Default()
		cfg.Server.KeyLabelDefault = label
		var fe *config.KeyError
		configOK := true
		for _, err := range unjoin(cfg.Validate()) {
			if errors.As(err, &fe) && fe.Key == "server.key_label_default" {
				configOK = false
			}
		}
		if apikeyOK := CheckLabel(label) == nil; apikeyOK != configOK {
			t.Errorf("label %q: CheckLabel accepts it: %t, server.key_label_default accepts it: %t", label, apikeyOK, configOK)
		}
	}
}

// unjoin returns the errors joined in err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
