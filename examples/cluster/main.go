// Command cluster starts, on loopback, two replicas of examples/basic
// that share one store and one signing key, and examples/resource
// verifying their tokens through replica A's JWK Set URL: a login on one
// replica refreshes on the other, a replayed refresh token revokes its
// family everywhere, the login throttle counts the guesses made on both,
// and the API picks up key rotations and keeps verifying while the
// replicas are down.
//
//	go run ./examples/cluster                  # a PostgreSQL of its own, in a temporary directory
//	go run ./examples/cluster -store redis      # a redis-server of its own (append-only file on)
//	go run ./examples/cluster -store postgres://tollgate@db.example:5432/tollgate
//
// It builds both examples with the go command, starts them (and the
// store's server, unless -store is a URL), prints their URLs and stops
// everything on SIGINT or SIGTERM. A server of its own needs Debian's
// postgresql or redis-server package.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate-go/tollgate/internal/testserver"
)

// options are the command line.
type options struct {
	store          string
	a, b, api      string
	bcryptCost     int
	stdout, stderr io.Writer // the children's output
}

func parseOptions(args []string, out io.Writer) (options, error) {
	o := options{stdout: io.Discard, stderr: io.Discard}
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.store, "store", "postgres", "the shared store: postgres or redis (a server of its own, on loopback), or a postgres:// or redis:// `URL`")
	fs.StringVar(&o.a, "a", "127.0.0.1:8010", "replica A's `address` (the issuer's URL is http:// and this)")
	fs.StringVar(&o.b, "b", "127.0.0.1:8011", "replica B's `address`")
	fs.StringVar(&o.api, "api", "127.0.0.1:8012", "the resource API's `address`")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 10, "bcrypt `cost` of the demo users")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.store != "postgres" && o.store != "redis" && !strings.HasPrefix(o.store, "postgres://") && !strings.HasPrefix(o.store, "postgresql://") && !strings.HasPrefix(o.store, "redis://") {
		return o, errors.New("-store must be postgres, redis, or a postgres:// or redis:// URL: the replicas share it")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(2)
	}
	o.stdout, o.stderr = os.Stdout, os.Stderr
	if o.store == "postgres" || o.store == "redis" {
		var stopServer func()
		o.store, stopServer, err = ownServer(o.store)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cluster:", err)
			os.Exit(1)
		}
		defer stopServer()
		fmt.Println("store:    ", o.store)
	}
	c, err := start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	defer c.stopAll()
	fmt.Printf("replica A: %s\nreplica B: %s\nAPI:       %s (JWKS from A)\n", c.url(o.a), c.url(o.b), c.url(o.api))
	<-ctx.Done()
}

// ownServer starts a PostgreSQL or Redis server of the cluster's own on
// loopback and returns its URL.
func ownServer(kind string) (url string, stop func(), err error) {
	stop, err = testserver.Run(func(t testserver.T) {
		if kind == "redis" {
			url = "redis://" + testserver.StartRedis(t, true).Addr() + "/0"
			return
		}
		url = testserver.StartPostgres(t).URL("postgres", "")
	})
	return url, stop, err
}

// cluster is the running processes.
type cluster struct {
	o        options
	dir      string // binaries and keys
	issuer   string
	key      string   // the replicas' signing key file
	old      []string // keys rotated out, still verifying
	replicas [2]*exec.Cmd
	api      *exec.Cmd
}

func (c *cluster) url(addr string) string { return "http://" + addr }

// start builds the examples and starts the replicas and the API.
func start(ctx context.Context, o options) (*cluster, error) {
	dir, err := os.MkdirTemp("", "tollgate-cluster-")
	if err != nil {
		return nil, err
	}
	c := &cluster{o: o, dir: dir, issuer: "http://" + o.a}
	for _, name := range []string{"basic", "resource"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, name), "github.com/tollgate-go/tollgate/examples/"+name)
		build.Stdout, build.Stderr = o.stderr, o.stderr
		if err := build.Run(); err != nil {
			c.stopAll()
			return nil, fmt.Errorf("building %s: %w", name, err)
		}
	}
	if c.key, err = c.newKey(); err != nil {
		c.stopAll()
		return nil, err
	}
	for i := range c.replicas {
		if err := c.startReplica(ctx, i); err != nil {
			c.stopAll()
			return nil, err
		}
	}
	c.api = c.spawn("resource", "-addr", o.api, "-jwks", c.issuer+"/.well-known/jwks.json", "-issuer", c.issuer)
	if err := waitFor(ctx, c.url(o.api)+"/healthz"); err != nil {
		c.stopAll()
		return nil, fmt.Errorf("the API: %w", err)
	}
	return c, nil
}

// newKey writes a new P-256 signing key to a file of its own.
func (c *cluster) newKey() (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	f := filepath.Join(c.dir, "key-"+strconv.FormatInt(time.Now().UnixNano(), 10)+".pem")
	return f, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// startReplica starts replica i (0: A, 1: B) and waits until it is ready.
func (c *cluster) startReplica(ctx context.Context, i int) error {
	addr := []string{c.o.a, c.o.b}[i]
	args := []string{"-addr", addr, "-store", c.o.store, "-key", c.key, "-issuer", c.issuer, "-bcrypt-cost", strconv.Itoa(c.o.bcryptCost)}
	for _, k := range c.old {
		args = append(args, "-verify-key", k)
	}
	c.replicas[i] = c.spawn("basic", args...)
	if err := waitFor(ctx, c.url(addr)+"/readyz"); err != nil {
		return fmt.Errorf("replica %c: %w", 'A'+i, err)
	}
	return nil
}

// stopReplica stops replica i.
func (c *cluster) stopReplica(i int) {
	stopCmd(c.replicas[i])
	c.replicas[i] = nil
}

// rotate restarts both replicas, one after the other, signing with a new
// key and still verifying the old one.
func (c *cluster) rotate(ctx context.Context) error {
	next, err := c.newKey()
	if err != nil {
		return err
	}
	c.old, c.key = append(c.old, c.key), next
	for i := range c.replicas {
		c.stopReplica(i)
		if err := c.startReplica(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// spawn starts a built example; one that cannot start is reported by
// the readiness wait that follows.
func (c *cluster) spawn(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.dir, name), args...)
	cmd.Stdout, cmd.Stderr = c.o.stdout, c.o.stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(c.o.stderr, "cluster: starting %s: %v\n", name, err)
		return nil
	}
	return cmd
}

// stopAll stops every process and removes the binaries and keys.
func (c *cluster) stopAll() {
	stopCmd(c.api)
	for i := range c.replicas {
		stopCmd(c.replicas[i])
	}
	_ = os.RemoveAll(c.dir)
}

func stopCmd(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitFor polls url until it answers 200.
func waitFor(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within 60 s (last: %v)", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
