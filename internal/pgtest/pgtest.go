// Package pgtest runs a real Postgres server for the tests of one test
// binary: started by the first Start, in a temp dir on a free loopback
// port, stopped by Main when the binary's tests are done, with a fresh
// database for every test.
//
// Postgres refuses to run as root: as root the server runs as the
// postgres user. Without the Postgres binaries (initdb and postgres, on
// PATH or in Debian's /usr/lib/postgresql/<version>/bin) the tests that
// need them skip, saying so, and `make test` prints why at
// the end (test-output/postgres-test-skipped); in CI they fail instead.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"eventually/internal/poll"
)

// server is the test binary's one Postgres. A test binary is one process:
// the server is shared by its tests, like the binary they build.
var server struct {
	sync.Mutex
	started bool
	addr    string // host:port
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error // why it could not start; every later Start says the same
	skip    string
	dbs     atomic.Int64
}

// Main runs the tests of a package that uses Start, then stops the
// server: call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// Start returns the URL of a new, empty database on the test binary's
// Postgres, starting the server on the first call. A test that calls it
// skips when Postgres is not installed.
func Start(t testing.TB) string {
	t.Helper()
	server.Lock()
	defer server.Unlock()
	if !server.started {
		server.started = true
		server.skip, server.err = start()
		if server.skip != "" {
			writeSkipped(server.skip)
		}
	}
	if server.skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(server.skip)
		}
		t.Skip(server.skip)
	}
	if server.err != nil {
		t.Fatalf("start postgres: %v", server.err)
	}
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), server.dbs.Add(1))
	if err := createDatabase(urlOf("postgres"), name); err != nil {
		t.Fatal(err)
	}
	return urlOf(name)
}

// binDir is the directory of initdb and postgres: on PATH, else where
// Debian's postgresql package puts them (the newest version), since it
// puts them on no PATH.
func binDir() (string, bool) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(initdb), true
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", false
	}
	slices.SortFunc(found, func(a, b string) int { return versionOf(a) - versionOf(b) })
	return filepath.Dir(found[len(found)-1]), true
}

// versionOf is the major version in /usr/lib/postgresql/<version>/bin/initdb.
func versionOf(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// start initialises a cluster and starts the server; skip says why it
// cannot run here, err why it failed.
func start() (skip string, err error) {
	bin, ok := binDir()
	if !ok {
		return "Postgres is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin; " +
			"on Debian, as root: apt-get update && apt-get install postgresql)", nil
	}
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		return fmt.Sprintf("Postgres is not installed completely: no postgres beside %s", filepath.Join(bin, "initdb")), nil
	}
	cred, skip := credential()
	if skip != "" {
		return skip, nil
	}
	dir, err := os.MkdirTemp("", "eventually-pg-")
	if err != nil {
		return "", err
	}
	server.dir = dir
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return "", err
	}
	// fsync off: a test's data need not survive a crash of the machine.
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	// SIGQUIT, Postgres's immediate shutdown, if the test binary dies
	// before Main stops it: no server outlives its tests.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		log.Close()
		return "", fmt.Errorf("start postgres: %w", err)
	}
	server.cmd, server.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(server.exited)
	}()
	server.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	admin := urlOf("postgres")
	if !poll.Until(30*time.Second, 50*time.Millisecond, func() bool { return ping(admin) == nil }) {
		out, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return "", fmt.Errorf("postgres not ready within 30s: %v\n%s", ping(admin), out)
	}
	return "", nil
}

// credential is who the server runs as: the postgres user when this
// process is root (Postgres refuses root), else this process's user.
func credential() (*syscall.Credential, string) {
	if os.Geteuid() != 0 {
		return nil, ""
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, "Postgres cannot run as root and there is no postgres user to run it as: " + err.Error()
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, ""
}

// stop shuts the server down (fast shutdown, then a kill) and removes its files.
func stop() {
	server.Lock()
	defer server.Unlock()
	if server.cmd != nil {
		_ = server.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-server.exited:
		case <-time.After(10 * time.Second):
			_ = server.cmd.Process.Kill()
			<-server.exited
		}
		server.cmd = nil
	}
	if server.dir != "" {
		os.RemoveAll(server.dir)
		server.dir = ""
	}
}

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func createDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// urlOf is the URL of database name on the server.
func urlOf(name string) string {
	return "postgres://postgres@" + server.addr + "/" + name + "?sslmode=disable"
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeSkipped leaves the reason of a skip where `make test` prints it
// after the run: go test shows skips only with -v.
func writeSkipped(reason string) {
	root, err := moduleRoot()
	if err != nil {
		return
	}
	file := filepath.Join(root, "test-output", "postgres-test-skipped")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err == nil {
		_ = os.WriteFile(file, []byte(reason+"\n"), 0o644)
	}
}

// moduleRoot is the directory of go.mod above the test's working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
