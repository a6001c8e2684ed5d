package main

import (
	"fmt"
	"os"

	"github.com/tollgate-go/tollgate"
)

// genkey: tollgate genkey -alg ALG [-format pem|jwk] [-out FILE].
func genkey(e env, args []string) error {
	fs := flags(e, "genkey")
	alg := fs.String("alg", "", "the `algorithm`: ES256, ES384, ES512, RS256, EdDSA or HS256 (required)")
	format := fs.String("format", "", "the `format`: pem or jwk (default pem; jwk for HS256, which has no PEM form)")
	out := fs.String("out", "", "write the key to `FILE` (mode 0600, never overwritten) instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError(fs, e, "unexpected argument "+pos[0])
	}
	if *alg == "" {
		return usageError(fs, e, "-alg is required")
	}
	if *format == "" {
		*format = "pem"
		if *alg == "HS256" {
			*format = "jwk"
		}
	}
	if *format != "pem" && *format != "jwk" {
		return usageError(fs, e, "-format must be pem or jwk")
	}
	k, err := tollgate.GenerateKey(*alg)
	if err != nil {
		return err
	}
	b, err := k.MarshalPrivate(*format)
	if err != nil {
		return err
	}
	if *format == "jwk" {
		b = append(b, '\n')
	}
	if *out == "" {
		_, err = e.stdout.Write(b)
	} else {
		err = writeSecret(*out, b)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s key, kid %s\n", k.Algorithm(), k.ID())
	return nil
}

// writeSecret writes b to a new file at path that only its owner can
// read: an existing file is never replaced.
func writeSecret(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// jwks: tollgate jwks KEYFILE...
func jwks(e env, args []string) error {
	fs := flags(e, "jwks")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError(fs, e, "name at least one key file")
	}
	var keys []*tollgate.Key
	for _, f := range files {
		k, err := tollgate.LoadKeyFile(f)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	set, err := tollgate.MarshalKeySet(keys...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", set)
	return err
}
