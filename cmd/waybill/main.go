// Command waybill is the Waybill integration hub: one binary with
// subcommands to serve the API, migrate the database, manage API keys and
// dead letters, validate configuration and generate load.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // billing.timezone works where the system has no zone database

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		fmt.Fprintln(os.Stderr, "waybill:", oneLine(err))
		os.Exit(1)
	}
}

// exitError carries an exit code for an error already reported.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "waybill",
		Short:         "Integration hub for Odoo-centred logistics",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "configuration file (YAML); also $WAYBILL_CONFIG")
	root.AddCommand(
		newServeCmd(),
		newMigrateCmd(),
		newConfigCmd(),
		newKeysCmd(),
		newDeadLettersCmd(),
		newReviewCmd(),
		newReconcileCmd(),
		newAuditCmd(),
		newArchiveCmd(),
		newChangesCmd(),
		newRulesCmd(),
		newLoadgenCmd(),
		newBenchCmd(),
		newIntakeCmd(),
		newRelayCmd(),
		newSubscriptionsCmd(),
		newWebhooksCmd(),
		newVersionCmd(),
	)
	return root
}
