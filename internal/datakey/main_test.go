package datakey_test

import (
	"testing"
	"time"

	"github.com/waybill/waybill/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 10*time.Second) }
