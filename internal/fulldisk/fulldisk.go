// Package fulldisk gives a test a small file system of its own that it
// can fill up and free again: a tmpfs mount, which needs root. Without
// root the test is skipped, saying why.
package fulldisk

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Disk is a mounted tmpfs of a fixed size.
type Disk struct {
	Dir    string
	filler string
}

// Mount mounts a tmpfs of sizeMB megabytes in a temp dir, unmounted when
// the test ends.
func Mount(t testing.TB, sizeMB int) *Disk {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(sizeMB)+"m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("a full disk needs a tmpfs mount, which needs root: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return &Disk{Dir: dir, filler: filepath.Join(dir, "filler")}
}

// Fill writes a file until the disk has no space left.
func (d *Disk) Fill(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(d.filler, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	// Smaller and smaller writes, so that not even a page is left.
	for _, n := range []int{64 << 10, 4 << 10, 512} {
		for {
			_, err := f.Write(chunk[:n])
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Free removes what Fill wrote.
func (d *Disk) Free(t testing.TB) {
	t.Helper()
	if err := os.Remove(d.filler); err != nil {
		t.Fatal(err)
	}
}
