package overlord

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eventually/pkg/sqlite"
)

// storeBeforeUniqueUUID is Message as stores were made before the UUID
// became a unique index: the UUID was the primary key.
type storeBeforeUniqueUUID struct {
	Message
	UUID string `gorm:"primaryKey"`
}

func (storeBeforeUniqueUUID) TableName() string { return messagesTable }

// A store made with the UUID as the primary key opens as it is (its table
// is not rebuilt), keeps its messages, and still stores a message once.
func TestAStoreWithTheUUIDAsPrimaryKeyStillWorks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overlord.db")
	old, err := sqlite.Open(path, &storeBeforeUniqueUUID{})
	if err != nil {
		t.Fatal(err)
	}
	row := record("m-1", "order.approved", []byte(`{}`), func(string) string { return "" }, time.Now())
	if err := old.Exec(insertSQL(messagesTable), row.args(nil)...).Error; err != nil {
		t.Fatal(err)
	}
	var before string
	old.Raw("SELECT sql FROM sqlite_master WHERE name = ?", messagesTable).Scan(&before)
	if err := sqlite.Close(old); err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(path, &Message{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	var after string
	db.Raw("SELECT sql FROM sqlite_master WHERE name = ?", messagesTable).Scan(&after)
	if after != before || !strings.Contains(after, "PRIMARY KEY") {
		t.Errorf("the table was changed on open:\n before %s\n after  %s", before, after)
	}
	for range 2 {
		if err := db.Exec(insertSQL(messagesTable), row.args(nil)...).Error; err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	if err := db.Model(&Message{}).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("%d messages (%v), want the one stored once", n, err)
	}
}
