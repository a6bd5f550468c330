package overlord

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"eventually/pkg/events"
)

// columns are the messages table's columns, in the order of Message.args.
// The hot paths (a live message, a rebuild's batches) insert with plain
// prepared statements: gorm's reflection and statement building cost more
// than SQLite's own work for a row this simple.
var columns = []string{"uuid", "topic", "event_name", "event_version", "producer", "correlation_id", "causation_id",
	"occurred_at", "received_at", "order_guid", "cart_guid", "payload",
	"poisoned", "poison_reason", "poison_consumer", "poison_original_uuid", "trace_id", "instance"}

// timeFormat is how mattn/go-sqlite3 binds a time.Time, so gorm reads
// back (and compares against) what the raw inserts store. Formatting here
// lets a rebuild do it on the reading goroutine, not the writing one.
const timeFormat = "2006-01-02 15:04:05.999999999-07:00"

// args appends the row's values in the order of columns.
func (m *Message) args(dst []any) []any {
	return append(dst, m.UUID, m.Topic, m.EventName, m.EventVersion, m.Producer, m.CorrelationID, m.CausationID,
		m.OccurredAt.Format(timeFormat), m.ReceivedAt.Format(timeFormat), m.OrderGUID, m.CartGUID, string(m.Payload),
		m.Poisoned, m.PoisonReason, m.PoisonConsumer, m.PoisonOriginalUUID, m.TraceID, m.Instance)
}

// insertSQL inserts one message, skipping it if it is already stored: a
// redelivery, or one both a rebuild and a durable consumer saw. The UUID
// is unique, so this is also overlord's inbox: a message is stored once
// however often it arrives.
func insertSQL(table string) string {
	return loadSQL(table, 1, 0) + skipStoredSQL
}

// skipStoredSQL makes an insert skip a message whose UUID is stored.
const skipStoredSQL = " ON CONFLICT (uuid) DO NOTHING"

// loadSQL inserts rows messages into table in one statement: for a
// rebuild, which keeps each UUID once by the UUID's index (uniqueUUIDs in
// rebuild.go). The columns of empty take their empty value from the
// statement rather than a parameter.
func loadSQL(table string, rows int, empty columnSet) string {
	values := make([]string, len(columns))
	for i, c := range columns {
		switch {
		case !empty.has(i):
			values[i] = "?"
		case c == "poisoned":
			values[i] = "0"
		default:
			values[i] = "''"
		}
	}
	one := "(" + strings.Join(values, ", ") + ")"
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES " +
		one + strings.Repeat(", "+one, rows-1)
}

// columnSet is a set of columns, bit i for columns[i].
type columnSet uint32

func (s columnSet) has(i int) bool { return s&(1<<i) != 0 }

// filter selects messages; empty fields select all.
type filter struct {
	RequestID string
	EventName string
	Poisoned  bool
	Limit     int
}

// latest returns the newest messages first.
func latest(db *gorm.DB, f filter) ([]Message, error) {
	q := db.Order("occurred_at DESC, rowid DESC").Limit(f.Limit)
	if f.RequestID != "" {
		q = q.Where("correlation_id = ?", f.RequestID)
	}
	if f.EventName != "" {
		q = q.Where("event_name = ?", f.EventName)
	}
	if f.Poisoned {
		q = q.Where("poisoned")
	}
	msgs := []Message{}
	if err := q.Find(&msgs).Error; err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return msgs, nil
}

// ofRequest returns every message carrying a request ID.
func ofRequest(db *gorm.DB, requestID string) ([]Message, error) {
	msgs := []Message{}
	if err := db.Where("correlation_id = ?", requestID).Order("occurred_at, rowid").Find(&msgs).Error; err != nil {
		return nil, fmt.Errorf("messages of request %s: %w", requestID, err)
	}
	return msgs, nil
}

// ofOrder returns every message about one order, given its order guid or
// its cart guid, whichever requests caused them.
//
// order.captured names only the cart, and a cart is submitted again after
// it reopens; the capture of an order is the cart's latest capture before
// the order's first message. That holds because beta locks the cart while
// an order is in flight. Given a cart guid, it is the cart's messages and
// every message of its orders (order.charged names only the order).
func ofOrder(db *gorm.DB, guid string) ([]Message, error) {
	msgs := []Message{}
	if err := db.Where("order_guid = ?", guid).Order("occurred_at, rowid").Find(&msgs).Error; err != nil {
		return nil, fmt.Errorf("messages of order %s: %w", guid, err)
	}
	if len(msgs) == 0 {
		ordersOfCart := db.Model(&Message{}).Select("order_guid").Where("cart_guid = ? AND order_guid != ''", guid)
		err := db.Where("cart_guid = ? OR order_guid IN (?)", guid, ordersOfCart).Order("occurred_at, rowid").Find(&msgs).Error
		if err != nil {
			return nil, fmt.Errorf("messages of cart %s: %w", guid, err)
		}
		return msgs, nil
	}
	var capture Message
	err := db.Where("cart_guid = ? AND order_guid = '' AND event_name = ? AND NOT poisoned AND occurred_at <= ?",
		cartOf(msgs), events.NameOrderCaptured, msgs[0].OccurredAt).
		Order("occurred_at DESC, rowid DESC").Limit(1).Find(&capture).Error
	if err != nil {
		return nil, fmt.Errorf("capture of order %s: %w", guid, err)
	}
	if capture.UUID != "" {
		msgs = append([]Message{capture}, msgs...)
	}
	return msgs, nil
}

func cartOf(msgs []Message) string {
	for _, m := range msgs {
		if m.CartGUID != "" {
			return m.CartGUID
		}
	}
	return ""
}

// orderSummary is one order on the transitions page.
type orderSummary struct {
	OrderGUID  string
	CartGUID   string
	Messages   int
	RequestIDs string // comma-separated
	// Last is read by a query of its own. Not a column of the summary's
	// query: gorm would take a struct field for a relation and fail.
	Last Message `gorm:"-"`
}

// recentOrders summarises the orders with the latest activity.
func recentOrders(db *gorm.DB, limit int) ([]orderSummary, error) {
	var out []orderSummary
	err := db.Model(&Message{}).
		Select("order_guid, MAX(cart_guid) AS cart_guid, COUNT(*) AS messages, GROUP_CONCAT(DISTINCT correlation_id) AS request_ids").
		Where("order_guid != ''").Group("order_guid").Order("MAX(rowid) DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("recent orders: %w", err)
	}
	for i := range out {
		err := db.Where("order_guid = ?", out[i].OrderGUID).Order("occurred_at DESC, rowid DESC").Limit(1).Find(&out[i].Last).Error
		if err != nil {
			return nil, fmt.Errorf("last message of order %s: %w", out[i].OrderGUID, err)
		}
	}
	return out, nil
}
