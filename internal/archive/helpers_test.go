package archive_test

import (
	"encoding/base64"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func base64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
