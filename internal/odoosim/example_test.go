package odoosim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/waybill/waybill/internal/odoosim"
)

// Example starts a simulated Odoo 18 and logs in over JSON-RPC.
func Example() {
	srv, err := odoosim.Start(odoosim.Options{Version: 18, NoDemo: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": 1,
		"params": map[string]any{"service": "common", "method": "login", "args": []any{"odoo", "admin", "admin"}}})
	resp, err := http.Post(srv.URL()+"/jsonrpc", "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var env struct {
		Result int `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	fmt.Println(resp.StatusCode, env.Result)
	// Output: 200 2
}
