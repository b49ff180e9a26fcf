package apikey_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/sqldb"
)

func ExampleParseScopes() {
	scopes, err := apikey.ParseScopes("events:write, shipments:read")
	fmt.Println(scopes, err)

	_, err = apikey.ParseScopes("events:write,shipments:write")
	fmt.Println(err)
	// Output:
	// [events:write shipments:read] <nil>
	// unknown scope "shipments:write": want events:write, shipments:read, review:write, changes:approve, finance:approve, subscriptions:write, tracking:write, admin
}

func ExampleKey_Has() {
	k := apikey.Key{Scopes: []apikey.Scope{apikey.Admin}}
	fmt.Println(k.Has(apikey.EventsWrite), k.Has(apikey.ShipmentsRead))
	// Output:
	// true true
}

func ExampleStore() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "apikey-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.Open(ctx, sqldb.Options{DataDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Println(err)
		return
	}

	keys := apikey.NewStore(db)
	plaintext, _, err := keys.Create(ctx, "odoo-prod", []apikey.Scope{apikey.EventsWrite})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Hand plaintext to the client; only its hash is kept.

	// On each request:
	k, err := keys.Verify(ctx, plaintext)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.Name, k.Has(apikey.EventsWrite), k.Has(apikey.Admin))

	if _, err := keys.Revoke(ctx, "odoo-prod"); err != nil {
		fmt.Println(err)
		return
	}
	_, err = keys.Verify(ctx, plaintext)
	fmt.Println(err)
	// Output:
	// odoo-prod true false
	// API key revoked
}
