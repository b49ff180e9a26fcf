package audit_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/sqldb"
)

// Record two decisions, then verify the chain with the public key.
func ExampleStore_Verify() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.Open(ctx, sqldb.Options{DataDir: dir})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		panic(err)
	}

	// A fixed key for the example; Waybill reads audit.signing_key_file.
	signer := audit.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	trail := audit.NewStore(db, signer, nil)
	for _, decision := range []string{"approve", "reject"} {
		e, err := trail.Append(ctx, audit.Record{Actor: "key:claims", Action: audit.ActionReviewDecided, Subject: "r-" + decision,
			Details: map[string]string{"decision": decision}})
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Seq, e.Action, e.Subject, string(e.Details))
	}
	rep, err := trail.Verify(ctx, audit.NewKeyRing(signer.Public()))
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Entries, rep.LastSeq, len(rep.HeadHash))
	// Output:
	// 1 review.decided r-approve {"decision":"approve"}
	// 2 review.decided r-reject {"decision":"reject"}
	// 2 2 64
}
