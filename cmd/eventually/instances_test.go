package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eventually/internal/system"
	st "eventually/internal/systemtest"
)

// A second charlie on SQLite, with a data dir of its own, on the same
// broker: it refuses to start and says why (two files would split the
// ledger), while the first goes on.
func TestSecondCharlieOnSQLiteIsRefused(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	natsAddr := freeAddr(t)
	startBrokerProcess(t, bin, natsAddr, filepath.Join(dir, "broker"))
	spec, _ := system.Lookup("charlie")
	charlieAddr := spec.AddrEnv()
	charlie := func(name string) *exec.Cmd {
		cmd := exec.Command(bin, "charlie")
		cmd.Env = append(os.Environ(), EnvNATSURL+"=nats://"+natsAddr,
			EnvDataDir+"="+filepath.Join(dir, name), EnvLogDir+"="+filepath.Join(dir, name, "logs"),
			charlieAddr+"="+freeAddr(t), EnvInstance+"="+name)
		return cmd
	}
	first := charlie("charlie-1")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
	firstURL := "http://" + envValue(first.Env, charlieAddr)
	st.Eventually(t, 20*time.Second, "the first charlie ready", func() bool { return ready(firstURL) })

	second := charlie("charlie-2")
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatal("a second charlie with its own data dir started beside the first")
	}
	if text := string(out); !strings.Contains(text, "another instance of charlie runs on this broker") || !strings.Contains(text, "charlie-1") {
		t.Fatalf("refused without saying why:\n%s", text)
	}
	if !ready(firstURL) {
		t.Fatal("the first charlie is no longer ready")
	}
}

// envValue is the value of key in env (KEY=value entries), the last wins.
func envValue(env []string, key string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}
