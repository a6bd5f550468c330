// Package overlord is the watcher: it keeps every message of the stream,
// the poisoned ones too, and shows them by request and by order, so one
// customer action can be followed across the services it touched.
package overlord

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/service"
	"eventually/pkg/sqlite"
	"eventually/pkg/stream"
)

// Name is the service's name, also of its database file.
const Name = "overlord"

// keepLinger is how long a message waits for others to be stored with it
// in one commit. Overlord is nobody's step: its view may lag a few
// milliseconds, and a commit of many messages costs about what one of a
// single message does (docs/performance.md).
const keepLinger = 5 * time.Millisecond

// Config starts overlord.
type Config struct {
	service.Config
	// Supervisor is where the dashboard's stop and start of a service go
	// (supervisor.Handler, served by boot); empty: nothing supervises.
	Supervisor string
}

// Overlord is the watcher service.
type Overlord struct {
	*service.Parts
	lock   *os.File      // the store's lock, held while overlord runs
	insert *sql.Stmt     // stores one message, once
	group  *sqlite.Group // commits the messages that arrive together at once
}

// New builds overlord: its message store, a durable consumer per topic
// and its HTTP server.
func New(cfg Config) (*Overlord, error) {
	// A rebuild replaces the database file only while nobody holds this.
	lock, err := lockStore(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (another overlord, or a rebuild, uses %s)", Name, err, cfg.DataDir)
	}
	o, err := build(cfg)
	if err != nil {
		unlockStore(lock)
		return nil, err
	}
	o.lock = lock
	return o, nil
}

func build(cfg Config) (*Overlord, error) {
	// Overlord's view stays a SQLite file of its data dir whatever the
	// other services use: it is one watcher, and its view is rebuilt from
	// the stream into such a file (rebuild.go).
	cfg.DatabaseURL = ""
	parts, err := service.New(Name, cfg.Config, &Message{}, &resetFence{})
	if err != nil {
		return nil, err
	}
	sqlDB, err := parts.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	insert, err := sqlDB.Prepare(insertSQL(messagesTable))
	if err != nil {
		return nil, fmt.Errorf("%s: prepare insert: %w", Name, err)
	}
	o := &Overlord{Parts: parts, insert: insert, group: sqlite.NewGroup(parts.DB)}
	o.group.Linger = keepLinger
	// Every topic with consumers of its own: overlord sees what the
	// services see, and what it missed while it was down.
	for _, topic := range stream.Topics() {
		o.Bus.HandleEvery(topic, o.keep)
	}
	o.routes()
	if err := o.routeProcesses(cfg.Supervisor); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	return o, nil
}

// Run runs overlord until ctx is done.
func (o *Overlord) Run(ctx context.Context) error {
	defer unlockStore(o.lock)
	return o.Parts.Run(ctx)
}

// keep stores each message of a topic as it arrives. The message's UUID
// is unique in the store and the insert skips one already stored, so
// one statement is both the effect and the inbox: a redelivered message
// changes nothing. Messages that arrive while another commit is written
// are stored in one transaction (sqlite.Group), and each is acknowledged
// after that commit.
func (o *Overlord) keep(ctx context.Context, msg stream.Message) error {
	row := record(msg.UUID, msg.Topic, msg.Payload, func(key string) string { return msg.Metadata[key] }, time.Now())
	args := row.args(make([]any, 0, len(columns)))
	var stored int64
	err := o.group.Transaction(ctx, func(tx *gorm.DB) error {
		// The statement prepared once, on the transaction's connection:
		// gorm would build and prepare it again for every message.
		sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return fmt.Errorf("transaction on %T, not *sql.Tx", tx.Statement.ConnPool)
		}
		res, err := sqlTx.StmtContext(ctx, o.insert).ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		stored, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("keep %s message %s: %w", msg.Topic, msg.UUID, err)
	}
	if stored == 0 {
		o.Logger.InfoContext(ctx, "message already stored, acknowledged again",
			"topic", msg.Topic, "message_uuid", msg.UUID)
	}
	return nil
}
