package overlord

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"eventually/pkg/messaging"
	"eventually/pkg/sqlite"
)

// A batch stores its rows exactly as the live path stores each message,
// the columns it leaves out (empty in every row of the batch) included:
// same values, same SQLite types.
func TestBatchStoresRowsAsTheLivePathDoes(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "overlord.db"), &Message{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("CREATE TABLE batched AS SELECT * FROM " + messagesTable + " WHERE 0"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	plain := func(i int) Message {
		md := map[string]string{messaging.EventNameKey: "order.approved", messaging.EventVersionKey: "1",
			messaging.ProducerKey: "alpha", messaging.CorrelationIDKey: "req", messaging.OccurredAtKey: at.Format(time.RFC3339Nano)}
		return record(fmt.Sprintf("uuid-%d", i), "order.approved", []byte(`{"order_guid":"o","cart_guid":"c"}`),
			func(k string) string { return md[k] }, at)
	}
	poisoned := plain(99)
	poisoned.Poisoned, poisoned.PoisonReason, poisoned.PoisonConsumer, poisoned.TraceID = true, "bad", "beta on x", "0af7651916cd43dd8448eb211c80319c"

	for name, rows := range map[string][]Message{
		"every row alike":      {plain(1), plain(2), plain(3)},
		"one row poisoned":     {plain(4), poisoned, plain(5)},
		"causation in one row": {plain(6), func() Message { m := plain(7); m.CausationID = "cause"; return m }()},
	} {
		t.Run(name, func(t *testing.T) {
			for _, table := range []string{messagesTable, "batched"} {
				if _, err := sqlDB.Exec("DELETE FROM " + table); err != nil {
					t.Fatal(err)
				}
			}
			b := newBatch()
			for i := range rows {
				if _, err := sqlDB.Exec(insertSQL(messagesTable), rows[i].args(nil)...); err != nil {
					t.Fatal(err)
				}
				b.add(rows[i].args(nil))
			}
			b.leaveOutEmpty()
			if b.empty == 0 {
				t.Fatal("no column left out: the test shows nothing")
			}
			args := make([]any, len(b.values))
			for i, v := range b.values {
				args[i] = v.Value
			}
			if _, err := sqlDB.Exec(loadSQL("batched", b.rows, b.empty), args...); err != nil {
				t.Fatal(err)
			}
			live, batched := storedRows(t, sqlDB, messagesTable), storedRows(t, sqlDB, "batched")
			if !reflect.DeepEqual(live, batched) {
				t.Errorf("batched rows differ from the live path's:\n live    %v\n batched %v", live, batched)
			}
		})
	}
}

// storedRows are a table's rows as SQLite holds them: each value with
// its type.
func storedRows(t *testing.T, db *sql.DB, table string) [][]string {
	t.Helper()
	query := "SELECT "
	for i, c := range columns {
		if i > 0 {
			query += ", "
		}
		query += "typeof(" + c + ") || ':' || quote(" + c + ")"
	}
	rows, err := db.QueryContext(context.Background(), query+" FROM "+table+" ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all [][]string
	for rows.Next() {
		row := make([]string, len(columns))
		ptrs := make([]any, len(columns))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		all = append(all, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}
