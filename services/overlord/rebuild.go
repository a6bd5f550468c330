package overlord

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"eventually/pkg/sqlite"
	"eventually/pkg/stream"
)

const (
	// rowsPerInsert rows go in one INSERT: 18 columns each makes 9,000
	// variables, under SQLite's limit of 32,766.
	rowsPerInsert = 500
	// rowsPerCommit rows commit together: commits are cheap without a
	// journal, this only bounds what a commit writes out at once.
	rowsPerCommit = 50_000
	// rebuildCacheKiB is the page cache of the rebuilding connection: the
	// UUID index takes random inserts, which must not go to disk each time.
	rebuildCacheKiB = 128 << 10
	// indexSortKiB is the page cache while the indexes are built: runs of
	// 4 MB let both cores sort (2.5 s became 1.85 s for a million
	// messages, docs/performance.md).
	indexSortKiB = 4 << 10
	// rebuildMmapBytes is how much of the file the rebuild reads through a
	// memory map (SQLite caps it, at 2 GB by default).
	rebuildMmapBytes int64 = 4 << 30
	// rebuildGCPercent is the collector's GOGC while a rebuild runs: it
	// allocates a few kB per message (the client's and the rows') and
	// keeps little, so at the default of 100 it collects very often.
	// 400 took about a tenth less CPU (docs/performance.md).
	rebuildGCPercent = 400
)

// indexes are the indexed fields of Message. A rebuild into a new file
// builds them all after loading the rows, each sorted in one pass rather
// than row by row; the UUID's first, dropping what the stream holds twice
// (uniqueUUIDs).
var indexes = []string{"UUID", "EventName", "CorrelationID", "OccurredAt", "OrderGUID", "CartGUID"}

// secondaryIndexes are the indexes besides the UUID's.
var secondaryIndexes = indexes[1:]

// Rebuilt says what a rebuild did.
type Rebuilt struct {
	Messages int
	Took     time.Duration
	// InPlace is set when overlord was running, so the store was rebuilt
	// in its open database rather than in a new file.
	InPlace bool
}

// PerSecond is the rebuild's throughput.
func (r Rebuilt) PerSecond() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Took.Seconds()
}

// Rebuild throws overlord's message store in dataDir away and rebuilds it
// by replaying the stream from its first message. The store is only a
// view of the stream, so it can always be thrown away and built again.
// Either way the old view stays whole until the new one replaces it at
// once: a rebuild that is interrupted (Ctrl-C, a broker away) changes
// nothing.
//
// With overlord stopped, it writes a new database file as fast as SQLite
// goes (no journal, no syncs, indexes built at the end) and renames it
// over the old one. While overlord runs (it holds the store's lock), the
// file cannot be replaced under its open connection, so the rebuild
// fills a table of its own in the same database, through the normal,
// journaled connection, and swaps it for the messages table in one
// transaction: slower, and the durable consumers keep storing what
// arrives meanwhile (the swap carries it over; a message both see is
// stored once, by UUID).
func Rebuild(ctx context.Context, dataDir, brokerURL string) (Rebuilt, error) {
	start := time.Now()
	// Process-wide, so only while the rebuild runs, and never against an
	// explicit GOGC.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(rebuildGCPercent))
	}
	r := Rebuilt{}
	lock, err := lockStore(dataDir)
	switch {
	case errors.Is(err, errStoreInUse):
		r.InPlace = true
		r.Messages, err = rebuildInPlace(ctx, dataDir, brokerURL)
	case err != nil:
		return r, fmt.Errorf("rebuild: %w", err)
	default:
		r.Messages, err = rebuildFile(ctx, dataDir, brokerURL)
		unlockStore(lock)
	}
	if err != nil {
		return r, fmt.Errorf("rebuild after %d messages: %w", r.Messages, err)
	}
	r.Took = time.Since(start)
	return r, nil
}

// rebuildFile builds the store in a new file and renames it into place.
// The caller holds the store's lock, so no overlord has the old file open.
func rebuildFile(ctx context.Context, dataDir, brokerURL string) (int, error) {
	path := filepath.Join(dataDir, Name+".db")
	tmp := path + ".rebuild"
	if err := removeFile(tmp); err != nil {
		return 0, err
	}
	// Nothing reads this file until it is renamed into place, so it needs
	// neither a journal nor syncs: a crash mid-rebuild leaves only a
	// half-written temp file, which the next rebuild deletes.
	dsn := fmt.Sprintf("file:%s?_journal_mode=OFF&_sync=OFF&_locking_mode=EXCLUSIVE&_cache_size=-%d", tmp, rebuildCacheKiB)
	db, err := gorm.Open(gormsqlite.Open(dsn), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", tmp, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", tmp, err)
	}
	// One connection, so the pragmas of fill hold for all its statements
	// (the exclusive lock would refuse a second one anyway).
	sqlDB.SetMaxOpenConns(1)
	n, err := fill(ctx, db, brokerURL)
	if err == nil {
		err = carryFence(path, db) // a reset holds for the rebuilt store too
	}
	if cerr := sqlite.Close(db); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", tmp, cerr)
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		removeFile(tmp)
		return n, err
	}
	// The old store's WAL goes before the rename, or SQLite would apply it
	// to the new file on the next open. (Its shared-memory index with it.)
	for _, stale := range []string{path + "-wal", path + "-shm"} {
		if err := removeFile(stale); err != nil {
			return n, err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("put the rebuilt store in place: %w", err)
	}
	return n, nil
}

// messagesTable is the store's table; stagingTable is where an in-place
// rebuild builds its replacement (gorm's name for Message with the
// staging prefix).
const (
	messagesTable    = "messages"
	stagingPrefix    = "rebuild_"
	stagingTable     = stagingPrefix + messagesTable
	stagingUUIDIndex = "idx_" + stagingTable + "_uuid" // gorm's name for it
)

// rebuildInPlace rebuilds the store of a running overlord: it replays the
// stream into the staging table, then swaps that in.
func rebuildInPlace(ctx context.Context, dataDir, brokerURL string) (n int, err error) {
	db, err := sqlite.Open(filepath.Join(dataDir, Name+".db"), &Message{})
	if err != nil {
		return 0, err
	}
	defer sqlite.Close(db)
	staging, err := createStaging(db)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err == nil {
			return
		}
		// Interrupted: the view was never touched; only the staging
		// table goes (ctx may be done, so not under it).
		if derr := staging.Migrator().DropTable(&Message{}); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop %s: %w", stagingTable, derr))
		}
	}()
	// What the consumers store from here on is carried over at the swap:
	// it may have been published after the replay read the stream's end.
	var before int64
	if err := db.WithContext(ctx).Raw("SELECT COALESCE(MAX(rowid), 0) FROM " + messagesTable).Scan(&before).Error; err != nil {
		return 0, fmt.Errorf("find the store's end: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, err
	}
	// The staging table has the UUID's index: a message the stream holds
	// twice is skipped as it comes.
	if n, err = replayInto(ctx, sqlDB, target{table: stagingTable, skipStored: true}, brokerURL); err != nil {
		return n, err
	}
	return n, swapIn(ctx, db, before)
}

// createStaging creates the staging table afresh (a rebuild killed
// half-way leaves one behind), without the secondary indexes, and
// returns db seen through the staging prefix.
func createStaging(db *gorm.DB) (*gorm.DB, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	staging, err := gorm.Open(gormsqlite.New(gormsqlite.Config{Conn: sqlDB}), &gorm.Config{
		Logger: logger.Discard, SkipDefaultTransaction: true,
		NamingStrategy: schema.NamingStrategy{TablePrefix: stagingPrefix},
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", stagingTable, err)
	}
	if err := staging.Migrator().DropTable(&Message{}); err != nil {
		return nil, fmt.Errorf("drop the %s left behind: %w", stagingTable, err)
	}
	if err := staging.Migrator().CreateTable(&Message{}); err != nil {
		return nil, fmt.Errorf("create %s: %w", stagingTable, err)
	}
	// The UUID index stays: swapIn's carry-over skips by it.
	return staging, dropIndexes(staging, secondaryIndexes)
}

// swapIn puts the staging table in the place of the messages table in
// one transaction, so a reader sees the old view or the new one, never a
// part. The messages the consumers stored after rowid before come along.
// The secondary indexes are built here, under their own names (index
// names are global in SQLite, so the staging table cannot have them).
func swapIn(ctx context.Context, db *gorm.DB, before int64) error {
	cols := strings.Join(columns, ", ")
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// "WHERE" tells SQLite's parser the ON CONFLICT is the upsert's.
		carry := "INSERT INTO " + stagingTable + " (" + cols + ") SELECT " + cols + " FROM " + messagesTable +
			" WHERE rowid > ? ORDER BY rowid ON CONFLICT (uuid) DO NOTHING"
		if err := tx.Exec(carry, before).Error; err != nil {
			return fmt.Errorf("carry over what arrived during the rebuild: %w", err)
		}
		if err := tx.Exec("DROP TABLE " + messagesTable).Error; err != nil {
			return fmt.Errorf("drop the old view: %w", err)
		}
		if err := tx.Exec("ALTER TABLE " + stagingTable + " RENAME TO " + messagesTable).Error; err != nil {
			return fmt.Errorf("put the rebuilt view in place: %w", err)
		}
		for _, field := range indexes {
			if err := tx.Migrator().CreateIndex(&Message{}, field); err != nil {
				return fmt.Errorf("index %s: %w", field, err)
			}
		}
		// Built again under the store's name, the staging one goes.
		if err := tx.Exec("DROP INDEX IF EXISTS " + stagingUUIDIndex).Error; err != nil {
			return fmt.Errorf("drop %s: %w", stagingUUIDIndex, err)
		}
		// The old table's reset trigger went with it.
		return applyFence(tx)
	})
}

// fill replays the stream into db's messages table. The indexes are built
// once at the end, sorted, not row by row.
func fill(ctx context.Context, db *gorm.DB, brokerURL string) (int, error) {
	if err := db.AutoMigrate(&Message{}); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	// Lets SQLite's sorter use a second thread to build the indexes, and
	// read the file through a memory map: each index is built from a scan
	// of the whole table, larger than the page cache, which reads would
	// copy from the kernel page by page.
	for _, pragma := range []string{"PRAGMA threads = 2", fmt.Sprintf("PRAGMA mmap_size = %d", rebuildMmapBytes)} {
		if err := db.Exec(pragma).Error; err != nil {
			return 0, fmt.Errorf("%s: %w", pragma, err)
		}
	}
	if err := dropIndexes(db, indexes); err != nil {
		return 0, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, err
	}
	n, err := replayInto(ctx, sqlDB, target{table: messagesTable}, brokerURL)
	if err != nil {
		return n, err // the file is thrown away
	}
	// SQLite sorts an index's keys in runs of at most the page cache's
	// size, a run per thread at once, then merges them: with the load's
	// cache one run held every key and one core sorted it.
	if err := db.Exec(fmt.Sprintf("PRAGMA cache_size = -%d", indexSortKiB)).Error; err != nil {
		return n, fmt.Errorf("cache size for the indexes: %w", err)
	}
	if err := uniqueUUIDs(db); err != nil {
		return n, err
	}
	if err := db.AutoMigrate(&Message{}); err != nil {
		return n, fmt.Errorf("build indexes: %w", err)
	}
	return n, nil
}

// uniqueUUIDs builds the UUID's unique index of a table loaded without
// it. A stream may hold a message twice (published again after the
// broker's duplicate window), and the store keeps it once: the index then
// refuses, the later copies go, and it is built again. A rare stream pays
// for the second pass; every rebuild paid for a set of the UUIDs seen
// (docs/performance.md).
func uniqueUUIDs(db *gorm.DB) error {
	err := db.Migrator().CreateIndex(&Message{}, "UUID")
	var sqlErr sqlite3.Error
	if !errors.As(err, &sqlErr) || sqlErr.Code != sqlite3.ErrConstraint {
		if err != nil {
			return fmt.Errorf("index uuid: %w", err)
		}
		return nil
	}
	keepFirst := "DELETE FROM " + messagesTable + " WHERE rowid NOT IN (SELECT MIN(rowid) FROM " + messagesTable + " GROUP BY uuid)"
	if err := db.Exec(keepFirst).Error; err != nil {
		return fmt.Errorf("drop the messages stored twice: %w", err)
	}
	if err := db.Migrator().CreateIndex(&Message{}, "UUID"); err != nil {
		return fmt.Errorf("index uuid: %w", err)
	}
	return nil
}

func dropIndexes(db *gorm.DB, fields []string) error {
	for _, field := range fields {
		if err := db.Migrator().DropIndex(&Message{}, field); err != nil {
			return fmt.Errorf("drop index of %s: %w", field, err)
		}
	}
	return nil
}

// target is the table a rebuild loads. skipStored is set when it has the
// UUID's index during the load: a message stored already is then skipped
// as it comes, else uniqueUUIDs drops it afterwards.
type target struct {
	table      string
	skipStored bool
}

// loadSQL inserts rows messages into the target (loadSQL of store.go).
func (t target) loadSQL(rows int, empty columnSet) string {
	if t.skipStored {
		return loadSQL(t.table, rows, empty) + skipStoredSQL
	}
	return loadSQL(t.table, rows, empty)
}

// replayInto replays the stream and inserts what it reads into the
// target table, in two goroutines: one reads and turns messages into
// rows' values, one only writes, so both cores work.
func replayInto(ctx context.Context, db *sql.DB, into target, brokerURL string) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *batch, 8)
	// The writer hands each batch back: new ones would be 360 kB of
	// garbage per 500 rows, which the collector would scan.
	free := make(chan *batch, cap(batches)+2)
	written := make(chan error, 1)
	go func() {
		err := writeBatches(ctx, db, into, batches, free)
		if err != nil {
			cancel() // stops the replay
		}
		written <- err
	}()

	b := newBatch()
	send := func() error {
		b.leaveOutEmpty()
		select {
		case batches <- b:
			select {
			case b = <-free:
			default:
				b = newBatch()
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	values := make([]any, 0, len(columns))
	n, err := stream.ReplayEach(ctx, brokerURL, stream.Topics(), func(m *stream.Replayed) error {
		// The broker's store time is when overlord would have received it.
		row := record(m.UUID, m.Topic, m.Payload, m.Get, m.StoredAt)
		b.add(row.args(values[:0]))
		if b.rows < rowsPerInsert {
			return nil
		}
		return send()
	})
	if err == nil && b.rows > 0 {
		err = send()
	}
	close(batches)
	if werr := <-written; werr != nil {
		return n, werr // the cause; the replay only saw the cancel
	}
	return n, err
}

// batch is the values of up to rowsPerInsert rows, bound by ordinal as
// the driver takes them: the writer, the slower side, hands them to
// SQLite without converting. A column empty in every row of the batch
// (the poison columns, mostly; the trace ID and the instance when they
// are unset) is left out: the statement writes its empty value itself
// (loadSQL). Binding a value is a call into SQLite through cgo, the
// largest part of the writer's work.
type batch struct {
	values []driver.NamedValue
	rows   int
	empty  columnSet // left out of values
}

func newBatch() *batch {
	return &batch{values: make([]driver.NamedValue, 0, rowsPerInsert*len(columns))}
}

// add appends a row's values, in the order of columns.
func (b *batch) add(row []any) {
	for _, v := range row {
		b.values = append(b.values, driver.NamedValue{Ordinal: len(b.values) + 1, Value: v})
	}
	b.rows++
}

// leaveOutEmpty drops the values of the columns empty in every row.
func (b *batch) leaveOutEmpty() {
	width := len(columns)
	b.empty = 0
	for c := range width {
		empty := true
		for i := c; i < len(b.values) && empty; i += width {
			empty = b.values[i].Value == "" || b.values[i].Value == false
		}
		if empty {
			b.empty |= 1 << c
		}
	}
	if b.empty == 0 {
		return
	}
	kept := b.values[:0]
	for i, v := range b.values {
		if !b.empty.has(i % width) {
			v.Ordinal = len(kept) + 1
			kept = append(kept, v)
		}
	}
	clear(b.values[len(kept):])
	b.values = kept
}

// reset empties the batch for reuse, letting go of its values.
func (b *batch) reset() {
	clear(b.values)
	b.values, b.rows, b.empty = b.values[:0], 0, 0
}

// writeBatches inserts batches into the target table with a prepared multi-row
// statement, rowsPerCommit rows per transaction. It runs on the driver's
// connection itself: database/sql would copy and convert each of a
// batch's 9,000 values, on the goroutine that bounds the rebuild's speed.
func writeBatches(ctx context.Context, db *sql.DB, into target, batches <-chan *batch, free chan<- *batch) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(sqliteConn)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare, begin and exec", dc)
		}
		return writeOn(ctx, c, into, batches, free)
	})
}

// sqliteConn is what writeOn needs of the driver's connection.
type sqliteConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
}

func writeOn(ctx context.Context, c sqliteConn, into target, batches <-chan *batch, free chan<- *batch) (err error) {
	// A full batch's statement for each set of columns left out: a few.
	full := map[columnSet]driver.StmtExecContext{}
	defer func() {
		for _, stmt := range full {
			stmt.(driver.Stmt).Close()
		}
	}()
	var (
		tx   driver.Tx
		inTx int
	)
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	for b := range batches {
		if tx == nil {
			if tx, err = c.BeginTx(ctx, driver.TxOptions{}); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
		}
		if b.rows == rowsPerInsert {
			stmt, ok := full[b.empty]
			if !ok {
				if stmt, err = prepareFull(ctx, c, into, b.empty); err != nil {
					return err
				}
				full[b.empty] = stmt
			}
			_, err = stmt.ExecContext(ctx, b.values)
		} else {
			_, err = c.ExecContext(ctx, into.loadSQL(b.rows, b.empty), b.values)
		}
		if err != nil {
			return fmt.Errorf("store %d messages: %w", b.rows, err)
		}
		rows := b.rows
		b.reset() // let go of the rows' strings before the batch is reused
		select {
		case free <- b:
		default:
		}
		if inTx += rows; inTx >= rowsPerCommit {
			if err = tx.Commit(); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			tx, inTx = nil, 0
		}
	}
	if tx != nil {
		err, tx = tx.Commit(), nil
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	return nil
}

// prepareFull prepares the insert of a full batch without the columns
// of empty.
func prepareFull(ctx context.Context, c sqliteConn, into target, empty columnSet) (driver.StmtExecContext, error) {
	stmt, err := c.PrepareContext(ctx, into.loadSQL(rowsPerInsert, empty))
	if err != nil {
		return nil, fmt.Errorf("prepare insert: %w", err)
	}
	full, ok := stmt.(driver.StmtExecContext)
	if !ok {
		stmt.Close()
		return nil, fmt.Errorf("driver statement %T cannot exec with a context", stmt)
	}
	return full, nil
}

// syncFile flushes a file to disk: the rebuild wrote it without syncs,
// and once it is in place it is the store.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// removeFile removes a file if it exists.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
