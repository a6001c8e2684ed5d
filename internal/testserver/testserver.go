// Package testserver starts real PostgreSQL and Redis servers for the
// tests of the store modules: on loopback, on a free port, in a
// temporary directory, stopped when the test ends. The tests stop and
// start them again to show what a store does while its server is down.
//
// Without the server binaries a test is skipped with a message naming
// the Debian package to install, unless TOLLGATE_REQUIRE_SERVERS is set
// (as .ci/run sets it): then it fails.
//
// A program (examples/cluster) starts them with Run, outside a test.
package testserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// T is what the servers need of their caller: a testing.TB, or Run's.
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
	TempDir() string
}

var _ T = testing.TB(nil)

// missing skips t, or fails it when servers are required.
func missing(t T, what, pkg string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found: apt-get install %s", what, pkg)
	if os.Getenv("TOLLGATE_REQUIRE_SERVERS") != "" {
		t.Fatal(msg + " (TOLLGATE_REQUIRE_SERVERS is set: a missing server is a failure)")
	}
	t.Skip(msg)
}

// FreePort returns a loopback port nobody listens on now.
func FreePort(t T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Postgres is a PostgreSQL server of a test's own.
type Postgres struct {
	t       T
	bin     string // the directory of initdb and pg_ctl
	dir     string // data, socket and log
	Port    int
	asUser  string // the user the server runs as ("" for the current one)
	running bool
}

// postgresBin finds the directory of initdb: on PATH, or Debian's
// /usr/lib/postgresql/VERSION/bin (the newest).
func postgresBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// StartPostgres initialises a cluster in a temporary directory and
// starts it on a free loopback port, with fsync off (a test's data need
// not survive a crash of the machine). As root, the server runs as the
// "postgres" user, since PostgreSQL refuses to run as root.
func StartPostgres(t T) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		missing(t, "PostgreSQL (initdb, pg_ctl)", "postgresql")
	}
	p := &Postgres{t: t, bin: bin, Port: FreePort(t)}
	dir, err := os.MkdirTemp("", "tollgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() {
		p.Stop()
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "the postgres system user (PostgreSQL refuses to run as root)", "postgresql")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.asUser = "postgres"
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "tollgate", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	p.Start()
	return p
}

// run runs a server binary (as the server's user), failing t on error.
func (p *Postgres) run(name string, args ...string) {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	if p.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.asUser, "--", filepath.Join(p.bin, name)}, args...)...)
	}
	cmd.Dir = p.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out.String(), log)
	}
}

// Start starts the server (again) and waits until it accepts
// connections.
func (p *Postgres) Start() {
	p.t.Helper()
	if p.running {
		return
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
		p.Port, p.dir)
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "log"), "-o", opts, "-w", "-t", "60", "start")
	p.running = true
}

// Stop stops the server at once (immediate mode: open connections are
// cut, as when a database server dies).
func (p *Postgres) Stop() {
	if !p.running {
		return
	}
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
	p.running = false
}

// URL is the connection URL of database db on the server, with the
// given search_path ("" for the default).
func (p *Postgres) URL(db, searchPath string) string {
	u := fmt.Sprintf("postgres://tollgate@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", p.Port, db)
	if searchPath != "" {
		u += "&search_path=" + searchPath
	}
	return u
}

// Redis is a Redis server of a test's own.
type Redis struct {
	t    T
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	AOF  bool // append-only file on (appendfsync always), for the durability tests
}

// StartRedis starts redis-server on a free loopback port, its files in a
// temporary directory. With aof, the append-only file is on with
// appendfsync always, the persistence refresh tokens need to survive a
// restart.
func StartRedis(t T, aof bool) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server", "redis-server")
	}
	r := &Redis{t: t, bin: bin, dir: t.TempDir(), Port: FreePort(t), AOF: aof}
	t.Cleanup(r.Stop)
	r.Start()
	return r
}

// Start starts the server (again) and waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	if r.cmd != nil {
		return
	}
	args := []string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", r.dir, "--save", "", "--protected-mode", "yes"}
	if r.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(r.bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.Addr(), 200*time.Millisecond)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 64)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not answer on %s:\n%s", r.Addr(), out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: as when it dies).
func (r *Redis) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Addr is the server's address.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// Run calls start with a T for a program: a failure or a skip becomes
// Run's error, and stop runs the cleanups (stopping the servers, removing
// their files) in reverse order.
func Run(start func(t T)) (stop func(), err error) {
	p := &progT{}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(progFailure)
			if !ok {
				panic(r)
			}
			p.stop()
			stop, err = nil, error(e)
		}
	}()
	start(p)
	return p.stop, nil
}

// progFailure is a progT's Fatal or Skip, carried by a panic to Run.
type progFailure struct{ msg string }

func (e progFailure) Error() string { return e.msg }

// progT is Run's T.
type progT struct{ cleanups []func() }

func (p *progT) Helper()                           {}
func (p *progT) Fatal(args ...any)                 { panic(progFailure{fmt.Sprint(args...)}) }
func (p *progT) Fatalf(format string, args ...any) { panic(progFailure{fmt.Sprintf(format, args...)}) }
func (p *progT) Skip(args ...any)                  { panic(progFailure{fmt.Sprint(args...)}) }
func (p *progT) Cleanup(f func())                  { p.cleanups = append(p.cleanups, f) }
func (p *progT) TempDir() string {
	d, err := os.MkdirTemp("", "tollgate-server-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func (p *progT) stop() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// Chromium returns the path of Debian's Chromium for the browser tests,
// or skips t (fails it when servers are required) if it is missing.
func Chromium(t T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "chromium", "chromium")
	return ""
}
