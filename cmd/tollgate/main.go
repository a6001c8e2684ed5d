// Command tollgate is the toolkit around the tollgate library: keys, key
// sets, password hashes, and the inspection of tokens and of an
// authorization server's metadata.
//
//	tollgate genkey -alg ES256|ES384|ES512|RS256|EdDSA|HS256 [-format pem|jwk] [-out FILE]
//	tollgate jwks KEYFILE...
//	tollgate hash-password [-cost N]
//	tollgate inspect [-jwks URL|FILE] [-issuer ISS] [-audience AUD] TOKEN|-
//	tollgate metadata URL
//
// Each command has -help. Secrets never go through the command line:
// hash-password reads the password from standard input or a prompt
// without echo, and genkey writes a file only its owner can read.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command reads and writes.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// A command is one subcommand.
type command struct {
	name, usage, doc string
	run              func(e env, args []string) error
}

// commands is set in init: the commands use flags, which reads it.
var commands []command

func init() {
	commands = []command{
		{"genkey", "genkey -alg ES256|ES384|ES512|RS256|EdDSA|HS256 [-format pem|jwk] [-out FILE]",
			"Generates a signing key and writes it as PEM (PKCS #8; the default, but for HS256) or JWK, to standard output or to FILE (created with mode 0600, never overwritten). The key id goes to standard error.", genkey},
		{"jwks", "jwks KEYFILE...",
			"Reads PEM or JWK key files and writes the public JWK Set of their keys (RFC 7517 §5), as /.well-known/jwks.json serves it. HS256 secrets are refused.", jwks},
		{"hash-password", "hash-password [-cost N]",
			"Reads a password from standard input (one line) or, on a terminal, from a prompt without echo (asked twice), and writes its bcrypt hash for a user store. Never give a password as an argument.", hashPassword},
		{"inspect", "inspect [-jwks URL|FILE] [-issuer ISS] [-audience AUD] TOKEN|-",
			"Decodes an access token (\"-\" reads it from standard input) and prints its header and claims; with -jwks, verifies it as a tollgate resource server would and says exactly why it fails. Exits 1 if it fails.", inspect},
		{"metadata", "metadata URL",
			"Fetches an authorization server's metadata (RFC 8414: the issuer URL, or its /.well-known/oauth-authorization-server URL) and checks it: the issuer it names, the required members, https endpoints. Exits 1 if a check fails.", metadata},
	}
}

// errUsage is a usage error: the command's usage has been printed.
var errUsage = errors.New("usage")

// errFailed is a failed check that has been reported already.
var errFailed = errors.New("failed")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin, stdout, stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errFailed):
			return 1
		}
		fmt.Fprintf(stderr, "tollgate %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tollgate COMMAND [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n", c.usage)
	}
	fmt.Fprintln(w, "\nRun tollgate COMMAND -help for what a command does.")
}

// flags returns the flag set of the command name, which prints the
// command's usage and doc on -help and on a bad flag.
func flags(e env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	for _, c := range commands {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(e.stderr, "Usage: tollgate %s\n\n%s\n", c.usage, wrap(c.doc, 76))
				if hasFlags(fs) {
					fmt.Fprintln(e.stderr, "\nFlags:")
					fs.PrintDefaults()
				}
			}
		}
	}
	return fs
}

// parse parses args with fs, flags and positional arguments in any
// order, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// wrap breaks s into lines of at most width characters.
func wrap(s string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && line+1+len(w) > width {
			b.WriteByte('\n')
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// usageError prints msg and the usage of fs, and returns errUsage.
func usageError(fs *flag.FlagSet, e env, msg string) error {
	fmt.Fprintf(e.stderr, "tollgate %s: %s\n\n", fs.Name(), msg)
	fs.Usage()
	return errUsage
}
