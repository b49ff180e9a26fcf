package quantity

import (
	"math/big"
	"testing"
)

// Decimal only rounds values with no finite decimal expansion, which are
// never exactly halfway, so ties are tested here on the helper itself.
func TestRoundHalfEven(t *testing.T) {
	t.Parallel()

	tests := []struct {
		num, den int64
		want     int64
	}{
		{num: 5, den: 2, want: 2},
		{num: 7, den: 2, want: 4},
		{num: -5, den: 2, want: -2},
		{num: -7, den: 2, want: -4},
		{num: 1, den: 2, want: 0},
		{num: -1, den: 2, want: 0},
		{num: 26, den: 10, want: 3},
		{num: 24, den: 10, want: 2},
		{num: -26, den: 10, want: -3},
		{num: 6, den: 3, want: 2},
	}
	for _, tt := range tests {
		got := roundHalfEven(big.NewInt(tt.num), big.NewInt(tt.den))
		if got.Int64() != tt.want {
			t.Errorf("roundHalfEven(%d, %d): got %s, want %d", tt.num, tt.den, got, tt.want)
		}
	}
}
