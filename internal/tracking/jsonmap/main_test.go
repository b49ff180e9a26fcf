package jsonmap_test

import (
	"testing"
	"time"
	_ "time/tzdata" // zones for tracking.Resolve, whatever the machine has

	"github.com/waybill/waybill/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
