package changes_test

import (
	"testing"
	"time"

	"github.com/waybill/waybill/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
