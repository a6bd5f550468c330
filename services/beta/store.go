package beta

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// models are beta's tables.
var models = []any{&SettingsCopy{}, &Cart{}}

// seedStore gives a fresh database beta's copy of the seed settings and
// the seed's open cart, stamped with them.
func seedStore(db *gorm.DB) error {
	settings := settingsFromEvent(seed.Settings)
	row := SettingsCopy{ID: copyRowID, Settings: settings}
	if err := service.CreateIfAbsent(db, &row); err != nil {
		return fmt.Errorf("seed beta settings: %w", err)
	}
	cart := Cart{GUID: seed.CartGUID, Status: CartOpen, Product: seed.CartProduct, PriceCents: seed.CartPriceCents,
		Snapshot: settings, LoadedAt: time.Now().UTC()}
	if err := service.CreateIfAbsent(db, &cart); err != nil {
		return fmt.Errorf("seed cart: %w", err)
	}
	return nil
}
