package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The built binary's boot starts everything, prints the URLs once all are
// healthy, and leaves no process behind after Ctrl-C (SIGINT).
func TestBootStartsAllAndStopsCleanly(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "boot")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		EnvDataDir+"="+filepath.Join(dir, "data"),
		EnvLogDir+"="+filepath.Join(dir, "logs"),
		EnvNATSURL+"=",
		EnvNATSAddr+"="+freeAddr(t),
		EnvAlphaAddr+"="+freeAddr(t),
		EnvBetaAddr+"="+freeAddr(t),
		EnvCharlieAddr+"="+freeAddr(t),
		EnvOverlordAddr+"="+freeAddr(t),
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	var output strings.Builder
	healthy := false
	timeout := time.After(60 * time.Second)
	for !healthy {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("boot exited before all services were healthy:\n%s", output.String())
			}
			output.WriteString(line + "\n")
			healthy = strings.Contains(line, "all services healthy")
		case <-timeout:
			t.Fatalf("no 'all services healthy' within 60s:\n%s", output.String())
		}
	}
	children := childrenOf(t, cmd.Process.Pid)
	if len(children) < len(serviceNames) {
		t.Fatalf("boot has %d child processes, want one per service (%d)", len(children), len(serviceNames))
	}
	for _, name := range serviceNames {
		if !strings.Contains(readUntil(lines, &output, "http://"), "http://") {
			t.Fatalf("no URL printed for %s", name)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines { // drain the output so boot is never blocked writing it
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("boot exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("boot did not exit within 30s of SIGINT")
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("child process %d is still running", pid)
		}
	}
}

func readUntil(lines chan string, output *strings.Builder, want string) string {
	for line := range lines {
		output.WriteString(line + "\n")
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}

// childrenOf lists the PIDs whose parent is pid, from /proc.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	// Each thread lists the children it started.
	files, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	if err != nil || len(files) == 0 {
		t.Fatalf("read children of %d: %v", pid, err)
	}
	var all []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read children of %d: %v", pid, err)
		}
		all = append(all, strings.Fields(string(data))...)
	}
	var pids []int
	for _, f := range all {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("children of %d: %q", pid, f)
		}
		pids = append(pids, n)
	}
	return pids
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
