package overlord

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// errStoreInUse says another overlord (or a rebuild) holds the store.
var errStoreInUse = errors.New("overlord's store is in use")

// lockStore takes the store's lock file in dataDir: a running overlord
// holds it, and so does a rebuild that replaces the database file, which
// must not happen under an open connection. The lock is an flock: the
// kernel releases it when the process dies, so a crash leaves no stale lock.
func lockStore(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dataDir, Name+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked", errStoreInUse, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// unlockStore releases a lock taken by lockStore.
func unlockStore(f *os.File) {
	if f != nil {
		f.Close() // closing the file releases the flock
	}
}
