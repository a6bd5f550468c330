package alpha

import (
	"fmt"

	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// models are alpha's tables.
var models = []any{&Settings{}, &Order{}}

// seedStore gives a fresh database the seed settings.
func seedStore(db *gorm.DB) error {
	s := settingsFromEvent(seed.Settings)
	s.ID = settingsRowID
	if err := service.CreateIfAbsent(db, &s); err != nil {
		return fmt.Errorf("seed alpha settings: %w", err)
	}
	return nil
}
