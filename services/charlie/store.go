package charlie

import (
	"fmt"

	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// models are charlie's tables.
var models = []any{&FeeSetting{}, &FeeVersion{}, &Charge{}}

// seedStore gives a fresh database charlie's copy of the seed's fee
// setting, which is also the first version it has seen.
func seedStore(db *gorm.DB) error {
	row := feeSettingFromEvent(seed.Settings)
	row.ID = feeRowID
	if err := service.CreateIfAbsent(db, &row); err != nil {
		return fmt.Errorf("seed charlie fee setting: %w", err)
	}
	return rememberVersion(db, row)
}
