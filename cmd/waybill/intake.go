package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/source"
)

func newIntakeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Work with the payloads of source profiles",
	}
	mapCmd := &cobra.Command{
		Use:   "map --format FORMAT [--source-config FILE [--source ID]] [--tz ZONE] FILE",
		Short: "Print the canonical events a payload file becomes, touching nothing",
		Long: "Maps FILE as a source of FORMAT (" + strings.Join(source.Formats(), ", ") + ") would, and prints the CloudEvents\n" +
			"it becomes as JSON lines; for X12, the 997 acknowledgement it would send follows them. Nothing is stored or sent.\n" +
			"--source-config takes a sources file (as intake.sources_file) for the partner's defaults, code tables and mapping;\n" +
			"--tz sets the default time zone of times that carry none. Parts that fail while others succeed are listed on\n" +
			"stderr; a file nothing can be taken from exits 1 with the located error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, _ := cmd.Flags().GetString("format")
			cfgFile, _ := cmd.Flags().GetString("source-config")
			id, _ := cmd.Flags().GetString("source")
			tz, _ := cmd.Flags().GetString("tz")
			p, err := mapProfile(format, cfgFile, id, tz)
			if err != nil {
				return err
			}
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			m, mapErr := p.Map(body, source.Control{InterchangeControl: 1, GroupControl: 1, Time: now})
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			stderr := cmd.ErrOrStderr()
			if mapErr == nil {
				events, problems := p.CloudEvents(m.Mapped, "", now)
				for _, e := range events {
					out.Write(e)
					out.WriteByte('\n')
				}
				m.Problems = append(m.Problems, problems...)
			}
			if len(m.Ack) > 0 {
				out.Write(m.Ack)
				if m.Ack[len(m.Ack)-1] != '\n' {
					out.WriteByte('\n')
				}
			}
			if mapErr == nil {
				for _, pr := range m.Problems {
					fmt.Fprintln(stderr, "problem:", pr)
				}
			}
			if m.Dropped > 0 {
				fmt.Fprintf(stderr, "dropped %d duplicate(s) inside the file\n", m.Dropped)
			}
			if mapErr != nil {
				// One line: the file and where in it the problem is.
				return fmt.Errorf("%s: %s", args[0], strings.TrimPrefix(mapErr.Error(), source.ErrRejected.Error()+": "))
			}
			return nil
		},
	}
	mapCmd.Flags().String("format", "", "the payload's format: "+strings.Join(source.Formats(), ", "))
	mapCmd.Flags().String("source-config", "", "sources file with the partner's profile (defaults, code tables, mapping)")
	mapCmd.Flags().String("source", "", "the profile to use when the sources file has several")
	mapCmd.Flags().String("tz", "", "default IANA time zone for times without one, e.g. America/Denver")
	_ = mapCmd.MarkFlagRequired("format")
	cmd.AddCommand(mapCmd)
	return cmd
}

// mapProfile is the profile intake map uses: from the sources file when
// one is given, otherwise the format's defaults.
func mapProfile(format, cfgFile, id, tz string) (*source.Profile, error) {
	if cfgFile == "" {
		if id != "" {
			return nil, errors.New("--source needs --source-config")
		}
		return source.DefaultProfile(format, tz)
	}
	ps, err := source.LoadFile(cfgFile, os.Environ())
	if err != nil {
		return nil, err
	}
	var p *source.Profile
	switch all := ps.All(); {
	case id != "":
		if p = ps.Get(id); p == nil {
			return nil, fmt.Errorf("%s has no source %q", cfgFile, id)
		}
	case len(all) == 1:
		p = all[0]
	default:
		return nil, fmt.Errorf("%s has %d sources: choose one with --source", cfgFile, len(all))
	}
	if p.Format != format {
		return nil, fmt.Errorf("source %s is %s, not %s", p.ID, p.Format, format)
	}
	if tz != "" {
		return p.WithZone(tz)
	}
	return p, nil
}
