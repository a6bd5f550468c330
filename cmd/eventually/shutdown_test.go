package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"eventually/internal/poll"
	st "eventually/internal/systemtest"
)

// stopDeadline is how long any command may take to exit after SIGINT.
const stopDeadline = 5 * time.Second

// Every command exits within 5 s of SIGINT whatever the broker does: when
// it was never there, and when it froze (SIGSTOP) after the services had
// connected to it.
func TestCommandsStopWithin5sWhateverTheBroker(t *testing.T) {
	bin := binary(t)
	for _, broker := range []string{"absent", "frozen"} {
		for _, command := range []string{"alpha", "beta", "charlie", "overlord", "all", "boot"} {
			t.Run(broker+"/"+command, func(t *testing.T) {
				dir := t.TempDir()
				addrs := freeAddrs(t)
				natsAddr := freeAddr(t)
				env := append(os.Environ(),
					EnvDataDir+"="+filepath.Join(dir, "data"), EnvLogDir+"="+filepath.Join(dir, "logs"),
					EnvNATSURL+"=nats://"+natsAddr)
				env = append(env, addrEnv(addrs)...)
				var brokerProc *exec.Cmd
				if broker == "frozen" {
					brokerProc = startBrokerProcess(t, bin, natsAddr, filepath.Join(dir, "broker"))
				}
				cmd := exec.Command(bin, command)
				cmd.Env = env
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // boot's children go with it
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

				// The first service up is enough: the command is running.
				first := "http://" + addrs["alpha"]
				if command != "all" && command != "boot" {
					first = "http://" + addrs[command]
				}
				if broker == "frozen" {
					st.Eventually(t, 20*time.Second, command+" ready", func() bool { return ready(first) })
					if err := brokerProc.Process.Signal(syscall.SIGSTOP); err != nil {
						t.Fatal(err)
					}
				} else {
					st.Eventually(t, 20*time.Second, command+" serving", func() bool { return serving(first) })
				}

				start := time.Now()
				if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
				select {
				case <-exited:
					t.Logf("exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
				case <-time.After(stopDeadline):
					t.Fatalf("%s still running %s after SIGINT with the broker %s", command, stopDeadline, broker)
				}
			})
		}
	}
}

// startBrokerProcess runs the embedded broker as a process of its own, so
// a test can freeze it; it is killed when the test ends.
func startBrokerProcess(t *testing.T, bin, addr, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "broker")
	cmd.Env = append(os.Environ(), EnvNATSAddr+"="+addr, EnvDataDir+"="+dir, EnvLogDir+"="+filepath.Join(dir, "logs"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if !poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("broker not listening on %s", addr)
	}
	return cmd
}

// serving reports whether a service answers HTTP at all.
func serving(base string) bool {
	c, err := net.DialTimeout("tcp", base[len("http://"):], time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// httpClient gives up on a service that does not answer.
var httpClient = &http.Client{Timeout: 2 * time.Second}

// ready reports whether a service says it takes part in the message flow.
func ready(base string) bool {
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := httpClient.Get(base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			return resp.StatusCode == 200
		}
	}
	return false
}
