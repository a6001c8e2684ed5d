package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tollgate-go/tollgate"
)

// hashPassword: tollgate hash-password [-cost N].
func hashPassword(e env, args []string) error {
	fs := flags(e, "hash-password")
	cost := fs.Int("cost", 12, "bcrypt `cost` (10 to 31; each step doubles the time of a login)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError(fs, e, "the password is never an argument: type it at the prompt or give it on standard input")
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	h, err := tollgate.Bcrypt(*cost).Hash(password)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", h)
	return err
}

var errMismatch = errors.New("the passwords differ")

// readPassword reads the password: from a prompt without echo, twice,
// when standard input is a terminal; else the first line of standard
// input, without its line ending.
func readPassword(e env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(e.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errMismatch
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
